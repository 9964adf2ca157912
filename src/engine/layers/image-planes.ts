import { specError } from '../errors.js';

/** How an augmentation layer reads one sample: `planes` images (every axis before the last two) of height × width. */
export interface ImagePlanes {
  readonly planes: number;
  readonly height: number;
  readonly width: number;
}

/** The image layout of `inputShape` for layer `type`, refusing inputs of fewer than two axes. */
export function imagePlanes(type: string, inputShape: readonly number[]): ImagePlanes {
  if (inputShape.length < 2) throw specError(type, `needs an image input ([H, W] or [C, H, W]), got [${inputShape.join(', ')}]`);
  return {
    planes: inputShape.slice(0, -2).reduce((a, b) => a * b, 1),
    height: inputShape[inputShape.length - 2] as number,
    width: inputShape[inputShape.length - 1] as number,
  };
}
