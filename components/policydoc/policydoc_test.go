package policydoc_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/components/policydoc"
)

// A policy that lets external-dns change records in one hosted zone only.
func ExampleNew() {
	doc := policydoc.New(policydoc.Allow(
		[]string{"route53:ChangeResourceRecordSets"},
		"arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"))
	fmt.Println(doc.JSON())
	// Output:
	// {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["route53:ChangeResourceRecordSets"],"Resource":["arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"]}]}
}

func TestServiceTrust(t *testing.T) {
	var doc struct {
		Version   string
		Statement []struct {
			Effect    string
			Principal map[string]string
			Action    []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(policydoc.ServiceTrust("eks.amazonaws.com")), &doc))
	assert.Equal(t, "2012-10-17", doc.Version)
	require.Len(t, doc.Statement, 1)
	assert.Equal(t, "eks.amazonaws.com", doc.Statement[0].Principal["Service"])
	assert.Equal(t, []string{"sts:AssumeRole"}, doc.Statement[0].Action)
}
