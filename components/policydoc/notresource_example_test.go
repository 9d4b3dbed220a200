package policydoc_test

import (
	"fmt"

	"github.com/cnplatform/platform/components/policydoc"
)

// A Deny with exceptions: list only two keys of a bucket, and read no
// object but one. A condition with several values matches any of them.
func ExampleStatement_notResource() {
	keys := []string{"a/one.json", "a/two.json"}
	doc := policydoc.New(
		policydoc.Statement{
			Effect: "Deny", Action: []string{"s3:ListBucket"}, Resource: []string{"arn:aws:s3:::b"},
			ConditionLists: map[string]map[string][]string{"StringNotLike": {"s3:prefix": keys}},
		},
		policydoc.Statement{Effect: "Deny", Action: []string{"s3:GetObject*"}, NotResource: []string{"arn:aws:s3:::b/a/one.json"}},
	)
	fmt.Println(doc.JSON())
	// Output:
	// {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::b"],"Condition":{"StringNotLike":{"s3:prefix":["a/one.json","a/two.json"]}}},{"Effect":"Deny","Action":["s3:GetObject*"],"NotResource":["arn:aws:s3:::b/a/one.json"]}]}
}
