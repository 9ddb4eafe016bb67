package store

// OSItems are the OS keyring's items for this package's tests: oskeyring.Items, which imports
// this package and so is set from the external test package (items_test.go).
var OSItems Items
