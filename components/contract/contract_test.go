package contract

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetDefaultKeepsWhatIsSet(t *testing.T) {
	n, s := 0, "set"
	SetDefault(&n, 3)
	SetDefault(&s, "default")
	assert.Equal(t, 3, n)
	assert.Equal(t, "set", s)
}

func TestProblemsReportsEveryOne(t *testing.T) {
	var p Problems
	require.NoError(t, p.Err())
	p.Add("A %q: must be b", "x")
	p.Add("C %d: must be positive", -1)
	err := p.Err()
	require.Error(t, err)
	assert.Equal(t, "A \"x\": must be b\nC -1: must be positive", err.Error())
}

func TestShape(t *testing.T) {
	zone := NewShape(`^([a-z]{2}-[a-z]+-\d)[a-z]$`, "must be an availability zone name such as eu-west-1a")
	assert.NoError(t, zone.Check("eu-west-1a"))
	assert.EqualError(t, zone.Check("eu-west-1"), "must be an availability zone name such as eu-west-1a")
	region, err := zone.Submatch("eu-west-1b")
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", region)
	_, err = zone.Submatch("x")
	assert.Error(t, err)
}
