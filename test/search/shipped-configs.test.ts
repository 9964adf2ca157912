import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUGMENTATIONS } from '../../src/search/arch.js';
import { parseSearchConfig } from '../../src/search/config.js';

const dir = join(import.meta.dirname, '..', '..', 'configs');
const shipped = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('shipped configs', () => {
  it.each(shipped)('%s parses as a search config', (file) => {
    const config = parseSearchConfig(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    expect(config.name.length).toBeGreaterThan(0);
  });

  it('the default refits four models, each on differently augmented images', () => {
    const config = parseSearchConfig(JSON.parse(readFileSync(join(dir, 'mnist-quick.json'), 'utf8')));
    const refit = config.refit;
    expect(refit?.models).toBe(4);
    const views = Array.from({ length: 4 }, (_, k) =>
      AUGMENTATIONS.map(({ option }) => {
        const list = refit?.[option];
        return list ? list[k % list.length] : 0;
      }).join('/'),
    );
    expect(new Set(views).size).toBe(4);
  });
});
