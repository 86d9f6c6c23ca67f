"""The client portal under /portal: a BPO client's own people use the same use-cases as the API."""
