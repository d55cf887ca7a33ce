"""What every command needs, built once and only when needed: settings, database engine, brands."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.brands import BrandsConfig, load_brands
from bot.settings import Settings
from storage.db import make_engine, make_sessionmaker
from storage.migrate import ensure_schema


class AppContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def engine(self) -> Engine:
        """The database engine, with the schema brought up to date on first use."""
        engine = make_engine(self.settings.database_url)
        ensure_schema(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def brands(self) -> BrandsConfig:
        return load_brands(self.settings.brands_file)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
