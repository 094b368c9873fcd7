"""HTTP sandboxes that stand in for services we cannot run here (FossID Workbench, PurlDB).

They play the other side of the wire: they never import ``sca`` (our clients), so a test that
passes against them checks our clients against an independent reading of the documented API.
"""
