package graph

import (
	"runtime"
	"strings"
)

// Accessors for queries that list hundreds of thousands of principals:
// they need a node's id and name, not its decoded attributes, and appending
// them to one buffer costs one allocation instead of two per node.

// NodeName is the node's display name ("" when it has none); a
// placeholder's name is its id. The string is a copy.
func (v *View) NodeName(n NodeID) string {
	off := v.noff[n]
	if off == noPayload {
		return v.NodeIDString(n)
	}
	name, _ := nodeNameEmail(arenaPayload(v.narena, off))
	runtime.KeepAlive(v)
	return name
}

// AppendNodeID appends n's id to dst.
func (v *View) AppendNodeID(dst []byte, n NodeID) []byte {
	dst = append(dst, v.idAt(n)...)
	runtime.KeepAlive(v)
	return dst
}

// AppendNodeName appends n's display name to dst (nothing when it has
// none; a placeholder's id).
func (v *View) AppendNodeName(dst []byte, n NodeID) []byte {
	off := v.noff[n]
	if off == noPayload {
		return v.AppendNodeID(dst, n)
	}
	d := decoder{b: arenaPayload(v.narena, off)}
	d.byte()
	dst = append(dst, d.bytesN(d.uvarint())...) // the layout nodeNameEmail reads
	runtime.KeepAlive(v)
	return dst
}

// EdgeAttr is one attribute of an edge ("" when absent).
func (v *View) EdgeAttr(e EdgeID, key string) string {
	return v.Edge(e).Attrs[key]
}

// NodeIDHasPrefix reports whether n's id starts with prefix, without copying
// the id out of a mapped view.
func (v *View) NodeIDHasPrefix(n NodeID, prefix string) bool {
	ok := strings.HasPrefix(v.idAt(n), prefix)
	runtime.KeepAlive(v)
	return ok
}
