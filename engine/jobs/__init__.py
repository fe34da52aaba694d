"""Long-running engine work: progress, cancellation, the job queue."""
