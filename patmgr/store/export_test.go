package store

// Split and ItemName show the size-limit test (in package store_test, as it uses packages that
// import this one) how values are cut into keyring items.
var Split = split

func ItemName(key string, part int) string {
	if part == 0 {
		return itemName(key)
	}
	return partName(key, part)
}
