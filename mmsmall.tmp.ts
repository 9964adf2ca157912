import { matmulJs } from './src/engine/backend/cpu-matmul.js';
import { matmulWasm } from './src/engine/backend/cpu-wasm.js';
function t(f){ for(let i=0;i<200;i++) f(); const ts=[]; const s=performance.now(); while(performance.now()-s<200){const t0=performance.now(); for(let i=0;i<20;i++) f(); ts.push((performance.now()-t0)/20);} ts.sort((x,y)=>x-y); return ts[ts.length>>1]*1000;}
for (const [m,n,k] of [[2,2,2],[4,4,4],[4,8,4],[8,8,8],[16,16,16],[32,128,64],[32,10,128],[1,64,64],[32,64,16]]) for (const tB of [false,true]) {
  const a=new Float32Array(m*k).fill(0.5), b=new Float32Array(n*k).fill(0.25), c=new Float32Array(m*n);
  const js=t(()=>matmulJs({a,b,c,m,n,k,transB:tB})); const w=t(()=>matmulWasm({a,b,c,m,n,k,transB:tB}));
  console.log(`${m}x${n}x${k} tB=${tB} js ${js.toFixed(2)}us wasm ${w.toFixed(2)}us ratio ${(js/w).toFixed(2)}`);
}
