"""Local/CI-only Django settings for ScanCode.io: the stock settings plus loopback input URLs.

ScanCode.io 38.x refuses input URLs on loopback/private addresses (an SSRF guard in
``scanpipe.pipes.fetch.is_safe_url``) and no setting turns that off. The local stack serves its
demo inputs from 127.0.0.1, so this module lets exactly 127.0.0.1 and localhost through and
keeps the guard for every other address. Never use it in production.
"""
