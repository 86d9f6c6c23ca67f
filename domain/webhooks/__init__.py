"""Signed outbound webhooks (issue 14): the event catalog, endpoints, signing and delivery."""
