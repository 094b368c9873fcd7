"""Code shared by every service client: HTTP transport, errors, retries, files, polling."""
