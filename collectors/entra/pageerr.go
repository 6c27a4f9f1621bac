package entra

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// itemFactory returns the SDK factory of one element of a collection
// page's value (nil for single-object pages).
func itemFactory(k pageKind) serialization.ParsableFactory {
	switch k {
	case pageOrganization:
		return models.CreateOrganizationFromDiscriminatorValue
	case pageUsers:
		return models.CreateUserFromDiscriminatorValue
	case pageGroups:
		return models.CreateGroupFromDiscriminatorValue
	case pageGroupMembers, pageGroupOwners, pageSPOwners, pageAppOwners:
		return models.CreateDirectoryObjectFromDiscriminatorValue
	case pageServicePrincipals:
		return models.CreateServicePrincipalFromDiscriminatorValue
	case pageSPAppRoleAssignedTo:
		return models.CreateAppRoleAssignmentFromDiscriminatorValue
	case pageApplications:
		return models.CreateApplicationFromDiscriminatorValue
	case pageRoleDefinitions:
		return models.CreateUnifiedRoleDefinitionFromDiscriminatorValue
	case pageRoleAssignments:
		return models.CreateUnifiedRoleAssignmentFromDiscriminatorValue
	case pageRoleEligibility:
		return models.CreateUnifiedRoleEligibilityScheduleFromDiscriminatorValue
	}
	return nil
}

// pageError turns kiota's refusal of a page into an error naming the
// record and the field: kiota's own error names neither, and with two bad
// fields which one it reports depends on map order. Each field is decoded
// alone with the same factory (with the object's @odata.type, which picks
// the model), in document order; the first that fails is named.
func pageError(k pageKind, body []byte, err error) error {
	top, ok := objectFields(body)
	if !ok {
		return fmt.Errorf("decode page: %w", err)
	}
	item := itemFactory(k)
	for _, f := range top {
		if f.key != "value" || item == nil {
			continue
		}
		elems, ok := arrayElems(f.val)
		if !ok {
			break
		}
		for i, e := range elems {
			fields, ok := objectFields(e)
			if !ok {
				continue
			}
			id := ""
			for _, ef := range fields {
				if ef.key == "id" {
					_ = json.Unmarshal(ef.val, &id) // best effort, for the message
				}
			}
			if key, ferr := firstBadField(item, fields); ferr != nil {
				return fmt.Errorf("decode page: value[%d] (id %q) field %q: %w", i, id, key, ferr)
			}
		}
	}
	if key, ferr := firstBadField(collectionFactory(k), top); ferr != nil {
		return fmt.Errorf("decode page: field %q: %w", key, ferr)
	}
	return fmt.Errorf("decode page: %w", err)
}

type jsonField struct {
	key string
	val json.RawMessage
}

// firstBadField decodes each field of an object alone (the last of a
// repeated key, as kiota keeps) and returns the first one kiota refuses.
func firstBadField(f serialization.ParsableFactory, fields []jsonField) (string, error) {
	last := map[string]int{}
	var typ json.RawMessage
	for i, fl := range fields {
		last[fl.key] = i
		if fl.key == "@odata.type" {
			typ = fl.val
		}
	}
	for i, fl := range fields {
		if last[fl.key] != i {
			continue
		}
		var b bytes.Buffer
		b.WriteByte('{')
		if typ != nil && fl.key != "@odata.type" {
			b.WriteString(`"@odata.type":`)
			b.Write(typ)
			b.WriteByte(',')
		}
		k, _ := json.Marshal(fl.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(fl.val)
		b.WriteByte('}')
		node, err := jsonserialization.NewJsonParseNode(b.Bytes())
		if err == nil {
			_, err = node.GetObjectValue(f)
		}
		if err != nil {
			return fl.key, err
		}
	}
	return "", nil
}

// objectFields lists the fields of a JSON object in document order.
func objectFields(b []byte) ([]jsonField, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []jsonField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := t.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, jsonField{key, v})
	}
	return out, true
}

func arrayElems(b []byte) ([]json.RawMessage, bool) {
	var out []json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) || json.Unmarshal(b, &out) != nil {
		return nil, false
	}
	return out, true
}
