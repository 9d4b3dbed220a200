// Package preflighttest runs the preflight's tests against a real AWS API
// emulator: moto_server on loopback, seeded through the SDK, and test
// servers with recorded responses for the calls moto does not serve. Like
// net/http/httptest it is imported by tests only.
package preflighttest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/cnplatform/platform/preflight"
)

//go:embed testdata/*.json
var recorded embed.FS

// Account is the example account of the stack files: moto answers as it
// (MOTO_ACCOUNT_ID), so the committed adminRoleArns name moto's roles.
// Region is the stack files' region.
const (
	Account = "111122223333"
	Region  = "eu-west-1"
)

// StartMoto runs moto_server (the AWS API emulator, moto 5.2.1) on a free
// loopback port until the test ends. With MOTO_IAM_LOAD_MANAGED_POLICIES it
// knows AWS's managed policies. A machine without it fails the test: the
// preflight is only tested against a real API.
func StartMoto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	require.NoError(t, err, "moto_server (pip install 'moto[server]==5.2.1') runs the preflight tests")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	var log bytes.Buffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true", "MOTO_ACCOUNT_ID="+Account)
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return endpoint
			}
		}
		select {
		case <-done:
			t.Fatalf("moto_server exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s within 60s: %v\n%s", endpoint, err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ResetMoto forgets every resource (moto's reset API), between cases.
func ResetMoto(t testing.TB, endpoint string) {
	t.Helper()
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// Config talks to endpoint with static credentials. A call the API
// answers is never retried (a failing call is reported at once, not
// retried for seconds); only a call whose connection broke is, up to
// three attempts: moto's server resets a kept-alive connection now and
// then on a busy machine ("use of closed network connection" while reading
// the body, which the SDK counts as a reset: aws/aws-sdk-go-v2#2737), and
// the SDK retries exactly that for AWS itself.
func Config(endpoint string, creds aws.Credentials) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.StaticCredentialsProvider{Value: creds},
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
			})
		},
	}
}

// Operator is the seeding identity (moto accepts any key).
var Operator = aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

// Endpoints are where the preflight's clients go: moto, and the test
// servers with recorded responses for what moto does not serve.
type Endpoints struct {
	Moto, EKS, Quotas string
}

// Clients are the preflight's clients for a caller: moto for STS, IAM and
// EC2; the recorded servers for EKS and Service Quotas.
func (e Endpoints) Clients(creds aws.Credentials) preflight.Clients {
	cfg := Config(e.Moto, creds)
	c := preflight.NewClients(cfg)
	if e.EKS != "" {
		c.EKS = eks.NewFromConfig(cfg, func(o *eks.Options) { o.BaseEndpoint = aws.String(e.EKS) })
	}
	if e.Quotas != "" {
		c.Quotas = servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) { o.BaseEndpoint = aws.String(e.Quotas) })
	}
	return c
}

// DeployRole creates a role at path and returns the credentials of a
// session of it (sts:AssumeRole), so GetCallerIdentity answers with an
// assumed-role ARN, as it does for the deploy job.
func DeployRole(t testing.TB, moto, path, name string) (roleARN string, session aws.Credentials) {
	t.Helper()
	ctx := context.Background()
	cfg := Config(moto, Operator)
	out, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		Path:                     aws.String(path),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + Account + `:root"},"Action":"sts:AssumeRole"}]}`),
	})
	require.NoError(t, err)
	as, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: out.Role.Arn, RoleSessionName: aws.String("preflight-test")})
	require.NoError(t, err)
	c := as.Credentials
	return aws.ToString(out.Role.Arn), aws.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken),
	}
}

func ec2Tags(kind ec2types.ResourceType, tags map[string]string) []ec2types.TagSpecification {
	if len(tags) == 0 {
		return nil
	}
	spec := ec2types.TagSpecification{ResourceType: kind}
	for k, v := range tags {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return []ec2types.TagSpecification{spec}
}

// AllocateEIPs allocates n Elastic IPs with tags (none: another stack's or
// a user's).
func AllocateEIPs(t testing.TB, moto string, n int, tags map[string]string) {
	t.Helper()
	c := ec2.NewFromConfig(Config(moto, Operator))
	for range n {
		_, err := c.AllocateAddress(context.Background(), &ec2.AllocateAddressInput{
			Domain: ec2types.DomainTypeVpc, TagSpecifications: ec2Tags(ec2types.ResourceTypeElasticIp, tags),
		})
		require.NoError(t, err)
	}
}

// CreateVPCs creates n VPCs with tags.
func CreateVPCs(t testing.TB, moto string, n int, tags map[string]string) {
	t.Helper()
	c := ec2.NewFromConfig(Config(moto, Operator))
	for i := range n {
		_, err := c.CreateVpc(context.Background(), &ec2.CreateVpcInput{
			CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", 100+i)), TagSpecifications: ec2Tags(ec2types.ResourceTypeVpc, tags),
		})
		require.NoError(t, err)
	}
}

// RecordedAddonVersions serves eks:DescribeAddonVersions from
// testdata/describe-addon-versions-1.36.json (README there), filtered by
// the addonName and kubernetesVersion query parameters as EKS filters
// them. moto 5.2.1 answers this call 404 (it has no route for
// /addons/supported-versions).
func RecordedAddonVersions(t testing.TB) string {
	t.Helper()
	raw, err := recorded.ReadFile("testdata/describe-addon-versions-1.36.json")
	require.NoError(t, err)
	var doc struct {
		Addons []map[string]any `json:"addons"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/addons/supported-versions" {
			http.NotFound(w, r)
			return
		}
		name, version := r.URL.Query().Get("addonName"), r.URL.Query().Get("kubernetesVersion")
		out := []map[string]any{}
		for _, a := range doc.Addons {
			if name != "" && a["addonName"] != name {
				continue
			}
			var versions []any
			for _, v := range a["addonVersions"].([]any) {
				for _, c := range v.(map[string]any)["compatibilities"].([]any) {
					if version == "" || c.(map[string]any)["clusterVersion"] == version {
						versions = append(versions, v)
						break
					}
				}
			}
			if len(versions) > 0 {
				b := map[string]any{}
				for k, v := range a {
					b[k] = v
				}
				b["addonVersions"] = versions
				out = append(out, b)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"addons": out})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// RecordedQuotas answers servicequotas:GetServiceQuota for the ec2 Elastic
// IP quota from testdata/get-service-quota-ec2-L-0263D0A3.json and passes
// every other call to moto. moto 5.2.1 implements Service Quotas for the
// vpc service code only (moto/servicequotas/models.py): for ec2 it answers
// NoSuchResourceException "This service is not available in the current
// Region" in every region, eu-west-1 included, and GetAWSDefaultServiceQuota
// with a 500. VPCs per Region (vpc L-F678F1CE) comes from moto itself.
func RecordedQuotas(t testing.TB, moto string) string {
	t.Helper()
	body := RecordedElasticIPQuota(t)
	target, err := url.Parse(moto)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(req))
		var in struct{ ServiceCode, QuotaCode string }
		_ = json.Unmarshal(req, &in)
		if r.Header.Get("X-Amz-Target") == "ServiceQuotasV20190624.GetServiceQuota" && in.ServiceCode == "ec2" && in.QuotaCode == "L-0263D0A3" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = w.Write(body)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// RecordedElasticIPQuota is the recorded GetServiceQuota response body for
// "EC2-VPC Elastic IPs" (ec2 L-0263D0A3) at its default of 5.
func RecordedElasticIPQuota(t testing.TB) []byte {
	t.Helper()
	body, err := recorded.ReadFile("testdata/get-service-quota-ec2-L-0263D0A3.json")
	require.NoError(t, err)
	return body
}
