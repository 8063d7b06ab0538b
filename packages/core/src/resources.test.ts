import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from './errors.js';
import { parseResources } from './resources.js';

describe('parseResources', () => {
  it('parses the seed example into resourceMap and numbers', () => {
    assert.deepEqual(parseResources('cpu=1,memory=1024M'), {
      resourceMap: { cpu: '1', memory: '1024M' },
      resources: { cpu: 1, memoryMb: 1024, gpu: 0 },
    });
  });

  it('reads G, Gi, Mi and bare numbers as binary units', () => {
    assert.equal(parseResources('memory=4G').resources.memoryMb, 4096);
    assert.equal(parseResources('memory=4Gi').resources.memoryMb, 4096);
    assert.equal(parseResources('memory=512Mi').resources.memoryMb, 512);
    assert.equal(parseResources('memory=1.5G').resources.memoryMb, 1536);
    assert.equal(parseResources('memory=2048').resources.memoryMb, 2048);
  });

  it('accepts gpu and nvidia.com/gpu, fractional and milli cpus, and a trailing comma', () => {
    assert.deepEqual(parseResources('cpu=0.5,gpu=2,').resources, { cpu: 0.5, memoryMb: 0, gpu: 2 });
    assert.deepEqual(parseResources('nvidia.com/gpu=1,cpu=500m').resourceMap, { 'nvidia.com/gpu': '1', cpu: '500m' });
    assert.equal(parseResources('nvidia.com/gpu=1,cpu=500m').resources.cpu, 0.5);
  });

  it('treats an absent or empty string as no request', () => {
    assert.deepEqual(parseResources(null), { resourceMap: {}, resources: { cpu: 0, memoryMb: 0, gpu: 0 } });
    assert.deepEqual(parseResources('').resourceMap, {});
  });

  for (const [text, quoted] of [
    ['cpu', '"cpu"'],
    ['cpu=1,memory', '"memory"'],
    ['cpu==1', '"cpu==1"'],
    ['cpu=one', '"one"'],
    ['cpu=-1', '"-1"'],
    ['memory=4Gb', '"4Gb"'],
    ['gpu=1.5', '"1.5"'],
    ['disk=10G', '"disk"'],
    ['gpu=1,nvidia.com/gpu=1', 'given twice'],
    ['cpu=1,cpu=2', 'given twice'],
  ] as const) {
    it(`refuses "${text}" and quotes the fault`, () => {
      assert.throws(() => parseResources(text, 'spec.Ps.resources'), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.field, 'spec.Ps.resources');
        assert.ok(error.message.includes(quoted), error.message);
        return true;
      });
    });
  }
});
