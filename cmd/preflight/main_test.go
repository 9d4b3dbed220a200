package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	pt "github.com/cnplatform/platform/preflight/preflighttest"
)

// The command as the deploy workflow runs it, on the committed dev stack,
// with the credentials of the deploy role's session and the endpoints from
// the environment (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, read by
// the SDK's default configuration): moto, and the recorded responses for
// what moto does not serve (preflighttest).
func TestPreflightOfTheDevStackAgainstMoto(t *testing.T) {
	moto := pt.StartMoto(t)
	_, session := pt.DeployRole(t, moto, "/", "platform-deploy-dev")
	env := func(extra ...string) {
		for _, kv := range append([]string{
			"AWS_ENDPOINT_URL=" + moto,
			"AWS_ENDPOINT_URL_EKS=" + pt.RecordedAddonVersions(t),
			"AWS_ENDPOINT_URL_SERVICE_QUOTAS=" + pt.RecordedQuotas(t, moto),
			"AWS_ACCESS_KEY_ID=" + session.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + session.SecretAccessKey,
			"AWS_SESSION_TOKEN=" + session.SessionToken,
			"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_PROFILE=",
			"AWS_MAX_ATTEMPTS=1",
		}, extra...) {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
	}

	t.Run("ready", func(t *testing.T) {
		env()
		var out, errs bytes.Buffer
		code := run([]string{"-stack", "dev", "-dir", "../.."}, &out, &errs)
		assert.Equal(t, 0, code, "stderr:\n%s", errs.String())
		assert.Contains(t, out.String(), "preflight: stack dev: ok: caller arn:aws:iam::111122223333:role/platform-deploy-dev is in platform:adminRoleArns")
		assert.Contains(t, out.String(), "preflight: stack dev: ready to deploy in eu-west-1")
	})
	t.Run("no room for the Elastic IP: one line, exit 1", func(t *testing.T) {
		env()
		pt.AllocateEIPs(t, moto, 5, nil)
		var out, errs bytes.Buffer
		code := run([]string{"-stack", "dev", "-dir", "../.."}, &out, &errs)
		assert.Equal(t, 1, code)
		assert.Equal(t, "preflight: stack dev: EC2-VPC Elastic IPs: stack dev declares 1, 5 others are in use in eu-west-1, quota ec2 L-0263D0A3 is 5: 1 over; request a quota increase or release unused ones before deploying\n", errs.String())
	})
	t.Run("usage", func(t *testing.T) {
		var out, errs bytes.Buffer
		assert.Equal(t, 2, run(nil, &out, &errs))
		assert.Contains(t, errs.String(), "-stack is required")
		errs.Reset()
		assert.Equal(t, 2, run([]string{"-stack", "nosuch", "-dir", "../.."}, &out, &errs))
		errs.Reset()
		assert.Equal(t, 2, run([]string{"-stack", "local", "-dir", "../.."}, &out, &errs), "local deploys onto an existing cluster: nothing to check in AWS")
		assert.Contains(t, errs.String(), "declares 0 EKS clusters")
	})
}
