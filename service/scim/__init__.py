"""A client's SCIM 2.0 service provider endpoint (issue 14), served with scim2-server's protocol
handling over a storage backed by the domain's use-cases."""
