// Package kubeobject reads the identity of a Kubernetes object held as
// plain JSON values: a document a chart renders (render.Object) or an
// object the program declares (harness.KubernetesObject). It imports only
// the standard library.
package kubeobject

// Fields is an object's plain JSON values, with accessors for its identity.
// Embed it: Object and the accessors are promoted.
type Fields struct {
	Object map[string]any
}

// Kind, APIVersion, Name and Namespace of the object ("" when absent).
func (f Fields) Kind() string       { return str(f.Object, "kind") }
func (f Fields) APIVersion() string { return str(f.Object, "apiVersion") }
func (f Fields) Name() string       { return f.metadata("name") }
func (f Fields) Namespace() string  { return f.metadata("namespace") }

func (f Fields) metadata(key string) string {
	m, _ := f.Object["metadata"].(map[string]any)
	return str(m, key)
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
