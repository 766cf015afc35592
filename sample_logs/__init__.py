"""The procedure catalog, the synthetic log generator and shipped sample logs."""
