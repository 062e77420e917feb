"""Domain of the GP mentor matcher: problem data, rules, scoring, spreadsheets, command line."""
