"""What happens downstream of the verdicts: training-run manifests (`export`),
re-decision under a new policy (`reevaluate`) and the catalogue backfill through
S3 Batch Operations (`backfill`)."""
