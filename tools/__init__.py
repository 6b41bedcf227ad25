"""Developer tooling for zhiyin (code generation, checks); not loaded by the servers."""
