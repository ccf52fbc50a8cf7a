"""Music engines: each turns VideoFeatures + a request into audio."""
