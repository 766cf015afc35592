"""The Dash dashboard: pages, figures and callbacks; it presents what ``mining`` computes."""
