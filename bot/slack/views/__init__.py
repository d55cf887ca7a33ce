"""What the listeners render: Block Kit answers built from what core/ returns, and the answers to errors."""
