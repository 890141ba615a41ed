// Process entry: reads configuration, wires dependencies, starts. Filled in by its issue.
export {};
