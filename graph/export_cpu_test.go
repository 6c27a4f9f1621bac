package graph

// ProcessCPU exports processCPU to the external test package (the scale
// query child measures CPU seconds: wall time on a shared VM is noise).
var ProcessCPU = processCPU
