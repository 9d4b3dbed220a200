// Package podvalues holds the typed Kubernetes pod settings the components
// put in their Helm chart values: images, tolerations, resources, security
// contexts and topology spread constraints. The json tags match the
// Kubernetes API, so a chart that passes a value straight into a pod spec
// gets exactly what the API expects. Only the fields some component sets are
// declared; optional fields are pointers or omitempty so an unset field is
// left to the chart while an explicit false or 0 is still rendered.
package podvalues
