/**
 * Real inputs for each real model: photos for the vision models, speech for the VADs.
 */
import { join } from 'node:path';

import { photoTensor, readWav, toNhwc } from './images.js';
import { IMAGES_DIR } from './onnx.js';
import { ort, type Feeds } from './ort.js';

export function realFeeds(model: string, image = 'page.png'): Feeds {
  switch (model) {
    case 'ppocr_det':
      return { x: new ort.Tensor('float32', photoTensor(image, 384, 192), [1, 3, 192, 384]) };
    case 'ppocr_rec':
      return { x: new ort.Tensor('float32', photoTensor(image, 320, 48), [1, 3, 48, 320]) };
    case 'ppocr_cls':
      return { x: new ort.Tensor('float32', photoTensor(image, 192, 48), [1, 3, 48, 192]) };
    case 'blazeface_front':
      return { 'input:0': new ort.Tensor('float32', toNhwc(photoTensor(image, 128, 128), 3, 128, 128), [1, 128, 128, 3]) };
    case 'silero_vad_v5':
    case 'silero_vad_op18_ifless': {
      const wav = readWav(join(IMAGES_DIR, '..', 'audio', 'Front_Center.wav'));
      const step = Math.round(wav.rate / 16000);
      const samples = new Float32Array(512);
      // A stretch with speech in it: the loudest 512-sample window at 16 kHz.
      let best = 0;
      let bestEnergy = -1;
      for (let start = 0; start + 512 * step < wav.samples.length; start += 512 * step) {
        let e = 0;
        for (let i = 0; i < 512; i++) e += wav.samples[start + i * step] ** 2;
        if (e > bestEnergy) {
          bestEnergy = e;
          best = start;
        }
      }
      for (let i = 0; i < 512; i++) samples[i] = wav.samples[best + i * step];
      return {
        input: new ort.Tensor('float32', samples, [1, 512]),
        state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
        sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
      };
    }
    default:
      throw new Error(`no inputs for ${model}`);
  }
}
