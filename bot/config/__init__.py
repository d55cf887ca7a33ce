"""Configuration: the settings (environment, ``.env``) and the brands file."""
