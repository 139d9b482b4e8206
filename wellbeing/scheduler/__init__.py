"""The scheduler: one process runs the declared periodic jobs (the follow-up sweep, the
outbox, digests, housekeeping). A low layer like the inbox: areas register their jobs
here (registry.register_job); it knows none of them."""
