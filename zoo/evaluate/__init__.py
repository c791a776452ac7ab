"""Factor evaluation: Rank IC, long-only excess returns, turnover, style correlations, reports."""
