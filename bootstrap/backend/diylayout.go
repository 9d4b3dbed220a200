package backend

import "path"

// The DIY (S3) backend's object layout for project-scoped stacks (state
// format version 1, `.pulumi/meta.yaml` says `version: 1`), as Pulumi v3.274.1
// (the CLI the workflows pin, github.com/pulumi/pulumi/pkg/v3) forms it:
//
//   - .pulumi is workspace.BookkeepingDir (sdk/go/common/util/pulumihome/pulumihome.go:28);
//     stacks, history, backups and locks are pkg/workspace/paths.go:42-52.
//   - .pulumi/meta.yaml: pkg/backend/diy/meta.go:30, read on every login
//     (backend.go:332, meta.go:117).
//   - .pulumi/stacks/<project>/<stack>.json, or .json.gz / .json.zst when
//     compressed: the checkpoint (store.go:122-126 StackBasePath,
//     state.go:531-533); .json.bak is the copy taken before a write
//     (state.go:467-472).
//   - .pulumi/stacks/<project>/<stack>.pulumi-tags: stack tags
//     (stack_tags.go:38-42), read with the checkpoint (state.go:97).
//   - .pulumi/history/<project>/<stack>/<stack>-<nanos>.{history,checkpoint}.json
//     (store.go:128-131, state.go:693-713) and
//     .pulumi/backups/<project>/<stack>/<stack>.<nanos>.json (store.go:133-136,
//     state.go:505-520): written by updates only (backend.go:1475-1478).
//   - .pulumi/locks/organization/<project>/<stack>/<uuid>.json: the stack
//     lock (lock.go:166-178; the fully qualified name
//     organization/<project>/<stack> is backend.go:190-195), taken by
//     update, refresh, destroy and import (backend.go:1219-1304), not by
//     preview (backend.go:1213-1217) nor by the --preview-only forms.
const diyBookkeepingDir = ".pulumi"

// diyMetaKey is the backend's metadata file.
func diyMetaKey() string { return path.Join(diyBookkeepingDir, "meta.yaml") }

// diyStackBase is a stack's checkpoint path without its extension.
func diyStackBase(project, stack string) string {
	return path.Join(diyBookkeepingDir, "stacks", project, stack)
}

// previewReadKeys are the objects `pulumi preview` of stack reads: the
// metadata, the checkpoint in each encoding the CLI may have written, and
// the stack's tags. `pulumi stack select` lists the checkpoint's own key as
// prefix (state.go:535-538), and a read of a missing object (the tags file
// of an untagged stack) answers 404 rather than 403 only if the caller may
// list that key (S3 evaluates s3:ListBucket with the key as s3:prefix:
// ceph/ceph#68577 matching AWS), so these keys are also the prefixes the
// preview may list.
func previewReadKeys(project, stack string) []string {
	base := diyStackBase(project, stack)
	return []string{base + ".json", base + ".json.gz", base + ".json.zst", base + ".pulumi-tags"}
}
