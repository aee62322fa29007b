// The OCI content builders every integration test relies on: if these lie about digests,
// every later assertion about referrers is meaningless.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  EMPTY_DIGEST, MEDIA_TYPES, REF_NAME_ANNOTATION, artifactManifest, descriptorOf, emptyBlob,
  imageIndex, imageManifest, jsonBlob, randomImage, randomLayer, readOciLayoutBlob,
  readOciLayoutManifestDigest, sha256Digest, writeOciLayout,
} from '../support/oci-layout.js';
import { makeTempDir, removeTempDir } from '../support/process.js';

describe('sha256Digest', () => {
  it('gives the OCI empty digest for {}', () => {
    assert.equal(sha256Digest(Buffer.from('{}')), EMPTY_DIGEST);
    assert.equal(emptyBlob().digest, EMPTY_DIGEST);
    assert.equal(emptyBlob().size, 2);
  });

  it('matches the well-known digest of no bytes', () => {
    const expected = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    assert.equal(sha256Digest(new Uint8Array()), expected);
  });
});

describe('blobs', () => {
  it('randomLayer has the requested size and a matching digest', () => {
    const layer = randomLayer(100);

    assert.equal(layer.size, 100);
    assert.equal(layer.bytes.length, 100);
    assert.equal(layer.digest, sha256Digest(layer.bytes));
    assert.equal(layer.mediaType, MEDIA_TYPES.layer);
  });

  it('jsonBlob serializes the value', () => {
    const blob = jsonBlob(MEDIA_TYPES.config, { os: 'linux' });
    assert.deepEqual(JSON.parse(blob.bytes.toString('utf8')), { os: 'linux' });
    assert.equal(blob.digest, sha256Digest(blob.bytes));
  });
});

describe('imageManifest', () => {
  it('hashes its bytes to its digest and parses back to its json', () => {
    const image = randomImage({ layerCount: 3 });
    const { manifest } = image;

    assert.equal(manifest.digest, sha256Digest(manifest.bytes));
    assert.equal(manifest.size, manifest.bytes.length);
    assert.deepEqual(JSON.parse(manifest.bytes.toString('utf8')), manifest.json);
    assert.equal(manifest.json.layers.length, 3);
    assert.equal(image.blobs.length, 4);
  });

  it('omits optional fields that were not given', () => {
    const manifest = imageManifest({ config: emptyBlob(), layers: [] });
    const keys = Object.keys(JSON.parse(manifest.bytes.toString('utf8')) as object);

    assert.deepEqual(keys, ['schemaVersion', 'mediaType', 'config', 'layers']);
  });

  it('carries subject, artifactType and annotations', () => {
    const subject = descriptorOf(randomImage().manifest);
    const manifest = imageManifest({
      config: emptyBlob(),
      layers: [randomLayer(8)],
      subject,
      artifactType: 'application/example',
      annotations: { a: 'b' },
    });

    assert.deepEqual(manifest.json.subject, subject);
    assert.equal(manifest.json.artifactType, 'application/example');
    assert.deepEqual(manifest.json.annotations, { a: 'b' });
  });
});

describe('imageIndex', () => {
  it('uses the index media type and hashes its bytes to its digest', () => {
    const child = randomImage().manifest;
    const index = imageIndex({ manifests: [descriptorOf(child)], artifactType: 'x/y' });

    assert.equal(index.mediaType, MEDIA_TYPES.index);
    assert.equal(index.json.mediaType, MEDIA_TYPES.index);
    assert.equal(index.digest, sha256Digest(index.bytes));
    assert.equal(index.json.manifests[0]?.digest, child.digest);
  });
});

describe('artifactManifest', () => {
  const subject = descriptorOf(randomImage().manifest);

  it('uses the empty config and sets artifactType by default', () => {
    const artifact = artifactManifest({ subject, artifactType: 'application/vnd.example.sig' });
    const { json } = artifact.manifest;

    assert.equal(json.config.mediaType, MEDIA_TYPES.empty);
    assert.equal(json.config.digest, EMPTY_DIGEST);
    assert.equal(json.config.size, 2);
    assert.equal(json.artifactType, 'application/vnd.example.sig');
    assert.deepEqual(json.subject, subject);
    assert.deepEqual(artifact.blobs.map((blob) => blob.digest), [
      EMPTY_DIGEST, json.layers[0]?.digest,
    ]);
  });

  it('puts the type only in config.mediaType when emptyConfig is false', () => {
    const artifact = artifactManifest({
      subject, artifactType: 'application/x', emptyConfig: false,
    });
    const { json } = artifact.manifest;

    assert.equal(json.artifactType, undefined);
    assert.equal(json.config.mediaType, 'application/x');
  });
});

describe('OCI image layout', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await removeTempDir(dir);
  });

  it('writes a layout whose tag resolves to the manifest digest', async () => {
    const dir = await makeTempDir('layout-test');
    dirs.push(dir);
    const image = randomImage({ layerCount: 2 });

    await writeOciLayout(dir, image, 'v1');

    assert.equal(await readOciLayoutManifestDigest(dir, 'v1'), image.manifest.digest);
    const stored = await readOciLayoutBlob(dir, image.manifest.digest);
    assert.deepEqual(stored, image.manifest.bytes);
    const header = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as object;
    assert.deepEqual(header, { imageLayoutVersion: '1.0.0' });
  });

  it('replaces a retagged entry and keeps the others', async () => {
    const dir = await makeTempDir('layout-test');
    dirs.push(dir);
    const [first, second, third] = [randomImage(), randomImage(), randomImage()];

    await writeOciLayout(dir, first, 'a');
    await writeOciLayout(dir, second, 'b');
    await writeOciLayout(dir, third, 'a');

    assert.equal(await readOciLayoutManifestDigest(dir, 'a'), third.manifest.digest);
    assert.equal(await readOciLayoutManifestDigest(dir, 'b'), second.manifest.digest);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
      manifests: { annotations: Record<string, string> }[];
    };
    const tags = index.manifests.map((entry) => entry.annotations[REF_NAME_ANNOTATION]);
    assert.deepEqual(tags.sort(), ['a', 'b']);
  });

  it('rejects an unknown tag', async () => {
    const dir = await makeTempDir('layout-test');
    dirs.push(dir);
    await writeOciLayout(dir, randomImage(), 'v1');

    await assert.rejects(readOciLayoutManifestDigest(dir, 'nope'), /no manifest tagged nope/);
  });
});
