// examples/app in TypeScript: nginx behind the platform's shared Gateway,
// with the platform's Namespace and Route components from the generated
// SDK (@cnplatform/platform) and the platform stack's outputs through a
// StackReference.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as platform from "@cnplatform/platform";

const config = new pulumi.Config();
const platformStack = config.get("platformStack") ?? "organization/platform/dev";
const host = config.get("host") ?? "hello.dev.example.com";

const stack = new pulumi.StackReference(platformStack);
// A local platform stack exports the kubeconfig context it deployed to, a
// cloud one its cluster's kubeconfig (a secret).
const provider = new k8s.Provider("platform", {
    context: stack.getOutput("kubeconfigContext").apply(v => (v as string | undefined) ?? ""),
    kubeconfig: stack.getOutput("kubeconfig").apply(v => (v as string | undefined) ?? ""),
});

const ns = new platform.namespace.Namespace("hello", { name: "hello" }, { providers: [provider] });

const labels = { "app.kubernetes.io/name": "hello" };
new k8s.apps.v1.Deployment("hello", {
    metadata: { name: "hello", namespace: ns.name, labels },
    spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
            metadata: { labels },
            spec: {
                automountServiceAccountToken: false,
                securityContext: { runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: "RuntimeDefault" } },
                containers: [{
                    name: "nginx",
                    image: "nginxinc/nginx-unprivileged:1.27.3-alpine",
                    ports: [{ name: "http", containerPort: 8080 }],
                    securityContext: {
                        allowPrivilegeEscalation: false,
                        readOnlyRootFilesystem: true,
                        capabilities: { drop: ["ALL"] },
                    },
                    resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "64Mi" } },
                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                }],
                volumes: [{ name: "tmp", emptyDir: {} }],
            },
        },
    },
}, { provider });

new k8s.core.v1.Service("hello", {
    metadata: { name: "hello", namespace: ns.name },
    spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
}, { provider });

// Only the gateway's proxies may reach the pods (the namespace denies
// everything else by default).
new k8s.networking.v1.NetworkPolicy("allow-from-gateway", {
    metadata: { name: "allow-from-gateway", namespace: ns.name },
    spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ["Ingress"],
        ingress: [{
            from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": stack.getOutput("proxyNamespace") } } }],
            ports: [{ port: 8080, protocol: "TCP" }],
        }],
    },
}, { provider });

const route = new platform.routing.Route("hello", {
    gateway: {
        name: stack.requireOutput("gatewayName") as pulumi.Output<string>,
        namespace: stack.requireOutput("gatewayNamespace") as pulumi.Output<string>,
    },
    host,
    namespace: ns.name,
    service: "hello",
    port: 80,
    domain: stack.requireOutput("routingDomain") as pulumi.Output<string>,
}, { providers: [provider] });

export const url = route.url;
