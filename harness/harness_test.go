package harness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStackFileValuesReachTheProgramLikeTheEngineGivesThem(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.x.yaml"), []byte(`config:
  aws:region: eu-west-1
  platform:count: 3
  platform:enabled: true
  platform:zones: [a, b]
  platform:nodes:
    minSize: 2
  platform:token:
    secure: v1:AAAABBBBCCCC
`), 0o644))
	sf, err := LoadStackFile(dir, "x")
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", sf.Config["aws:region"])
	assert.Equal(t, "3", sf.Config["platform:count"])
	assert.Equal(t, "true", sf.Config["platform:enabled"])
	assert.JSONEq(t, `["a","b"]`, sf.Config["platform:zones"])
	assert.JSONEq(t, `{"minSize":2}`, sf.Config["platform:nodes"])
	assert.Equal(t, []string{"platform:token"}, sf.SecretKeys)
	assert.Equal(t, SecretPlaceholder("platform:token"), sf.Config["platform:token"])
	assert.NotContains(t, sf.Config["platform:token"], "AAAABBBBCCCC", "ciphertext is never passed on as a value")
}

func TestSecretConfigStaysSecretInRecordsAndOutput(t *testing.T) {
	program := func(ctx *pulumi.Context) error {
		token := config.RequireSecret(ctx, "platform:token")
		_, err := corev1.NewSecret(ctx, "ingest", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String("ingest"), Namespace: pulumi.String("logging")},
			StringData: pulumi.StringMap{"token": token},
		})
		ctx.Export("token", token)
		return err
	}
	key := "platform:token"
	res, err := Run("x", map[string]string{key: SecretPlaceholder(key)}, []string{key}, program)
	require.NoError(t, err)
	secrets := res.OfType("kubernetes:core/v1:Secret")
	require.Len(t, secrets, 1)
	assert.True(t, secrets[0].IsSecret("stringData") || secrets[0].IsSecret("stringData", "token"))
	assert.Equal(t, SecretPlaceholder(key), secrets[0].String("stringData", "token"), "tests can still read it")

	objs := res.KubernetesObjects()
	require.Len(t, objs, 1)
	assert.Equal(t, "v1", objs[0].Object["apiVersion"])
	assert.Equal(t, "Secret", objs[0].Kind())
	assert.Equal(t, "logging", objs[0].Namespace())
	assert.NotContains(t, objs[0].Object["stringData"], SecretPlaceholder(key), "rendered objects hide secrets")
	assert.True(t, res.Outputs["token"].Secret)
}

func TestRecordsParentsDependenciesAndOptions(t *testing.T) {
	program := func(ctx *pulumi.Context) error {
		vpc, err := ec2.NewVpc(ctx, "vpc", &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16")}, pulumi.Protect(true))
		if err != nil {
			return err
		}
		_, err = ec2.NewSubnet(ctx, "subnet", &ec2.SubnetArgs{VpcId: vpc.ID(), CidrBlock: pulumi.String("10.0.0.0/24")},
			pulumi.IgnoreChanges([]string{"tags"}))
		return err
	}
	res, err := Run("x", nil, nil, program)
	require.NoError(t, err)
	vpc, subnet := res.OfType("aws:ec2/vpc:Vpc")[0], res.OfType("aws:ec2/subnet:Subnet")[0]
	assert.True(t, vpc.Protect)
	assert.Equal(t, res.StackURN, vpc.Parent)
	assert.True(t, subnet.DependsOnURN(vpc.URN), "dependencies implied by inputs are recorded")
	assert.Equal(t, vpc.ID, subnet.String("vpcId"))
	assert.Equal(t, []string{"tags"}, subnet.IgnoreChanges)
	got, ok := res.ByID(subnet.String("vpcId"))
	require.True(t, ok)
	assert.Equal(t, vpc.URN, got.URN)
}

func TestDataSourceCallsFail(t *testing.T) {
	program := func(ctx *pulumi.Context) error {
		_, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{})
		return err
	}
	_, err := Run("x", nil, nil, program)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must not look anything up")
}

func TestRenderedSecretsKeepTheirShape(t *testing.T) {
	res, err := Run("x", nil, nil, func(ctx *pulumi.Context) error {
		_, err := corev1.NewSecret(ctx, "s", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String("s"), Namespace: pulumi.String("n")},
			StringData: pulumi.ToSecret(pulumi.StringMap{"token": pulumi.String("t0ken")}).(pulumi.StringMapOutput),
			Data:       pulumi.StringMap{"ca.crt": pulumi.ToSecret(pulumi.String("Y2E=")).(pulumi.StringOutput)},
		})
		return err
	})
	require.NoError(t, err)
	obj := res.KubernetesObjects()[0].Object
	assert.Equal(t, map[string]any{"token": "[secret]"}, obj["stringData"], "a secret map stays a map")
	assert.Equal(t, map[string]any{"ca.crt": "W3NlY3JldF0="}, obj["data"], "hidden data stays valid base64")
}

func TestStackReferencesReadGivenOutputs(t *testing.T) {
	var name string
	res, err := RunWithOptions("app", nil, nil, func(ctx *pulumi.Context) error {
		ref, err := pulumi.NewStackReference(ctx, "acme/platform/dev", nil)
		if err != nil {
			return err
		}
		ctx.Export("gateway", ref.GetStringOutput(pulumi.String("gatewayName")))
		name = "ok"
		return nil
	}, Options{StackReferences: map[string]map[string]any{"acme/platform/dev": {"gatewayName": "platform"}}})
	require.NoError(t, err)
	assert.Equal(t, "ok", name)
	assert.Equal(t, "platform", res.Outputs["gateway"].Value)

	_, err = RunWithOptions("app", nil, nil, func(ctx *pulumi.Context) error {
		_, err := pulumi.NewStackReference(ctx, "acme/platform/nope", nil)
		return err
	}, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no outputs given")
}
