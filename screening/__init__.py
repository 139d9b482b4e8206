"""The pure core: turns raw answers and measurements into scores, classifications and
risk. It imports neither Flask nor SQLAlchemy, so it is tested without a database and
used unchanged by the batch commands and the app."""
