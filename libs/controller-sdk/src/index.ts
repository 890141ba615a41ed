// Package surface; filled in by the slices of issue 2 that build it.
export {};
