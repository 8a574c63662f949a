"""Reports: aggregation with drill-down filters, manual tags, recordings, pool health
and the dashboard that shows them."""
