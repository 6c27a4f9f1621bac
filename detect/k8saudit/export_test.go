package k8saudit

import "permgraph/detect/event"

// RefParseEvent is the encoding/json reference parser (reference_test.go),
// exported to the external tests.
func RefParseEvent(raw []byte) (event.Event, error) { return refParseEvent(raw) }

// RefObjectDetails is the encoding/json reference of ObjectDetails.
func RefObjectDetails(ev *event.Event, resource, subresource string, raw []byte) error {
	return refObjectDetails(ev, resource, subresource, raw)
}
