/* pecs/backend.h — the versioned backend ABI. This is all a vendor compiles against (with status.h,
 * dtype.h and, optionally, encodings.def). A plugin never links against the host: host services come in
 * through pecs_host, and every helper here is header-only.
 *
 * ---------------------------------------------------------------------------------------------------
 * Versioning
 *   PECS_ABI_MAJOR changes when a struct below changes incompatibly; the loader refuses a plugin whose
 *   major differs and names both numbers. PECS_ABI_MINOR grows when fields are appended at the END of a
 *   struct; every struct starts with (or carries) struct_size so each side reads only what the other
 *   filled in.
 *
 * Entry point
 *   A plugin .so exports exactly one symbol:
 *       const pecs_backend *pecs_backend_entry(uint32_t host_abi_major, const pecs_host *host);
 *   It returns a static descriptor (abi_major first, struct_size second), or NULL if it cannot serve
 *   this host. The descriptor stays valid until the library is unloaded.
 *
 * Calls
 *   supports(ctx, problem, reason, reason_size) -> 1 if run() will handle the problem, 0 otherwise with a
 *       one-line human reason written to `reason` (NUL-terminated, truncated to reason_size). The harness
 *       reports an unsupported case as SKIPPED(reason), never FAILED; but `pecs certify` counts a declined
 *       case of a claimed (encoding, dtype) as a violation (configs/certify/, docs/certification.md), and a
 *       case outside the claim must be declined, never answered wrongly. Tensor data pointers are valid
 *       during supports() too.
 *   run(ctx, problem) -> PECS_OK or an error status. A backend that said yes in supports() and then
 *       returns PECS_UNSUPPORTED is reported as an ERROR ("supports() lied").
 *   A backend must not exit the process, print to stdout, or write outside the output tensor's
 *   elements (the gaps of a strided view included): the harness surrounds and interleaves every output
 *   with canary bytes and fails the case on any stray write.
 *
 * ---------------------------------------------------------------------------------------------------
 * Tensors
 *   shape[] and stride[] are in ELEMENTS, outermost first; element (i0,i1,i2) lives at
 *   data + (i0*stride[0] + i1*stride[1] + i2*stride[2]) * dtype_size. Strides may describe padded rows,
 *   transposed layouts ([H,T,D] storage of a [T,H,D] view) or any other non-overlapping view.
 *
 * Problems by kernel form (tensor names are exact; T tokens, H heads, D head_dim, R rotary_dim):
 *
 *   ROTATE   "x"   [T, H, D]  dtype = problem->dtype        (q or k, read)
 *            "pos" [P, T]     i32 | i64 | f64               (P = registry `rows`: 1; 3 = t,h,w; 2 = h,w;
 *                                                            4 = VRoPE's variants)
 *            "out" [T, H, D]  dtype = problem->dtype        (written; out.data == x.data when in_place,
 *                                                            with identical strides)
 *            "w"   [r, c]     dtype = problem->dtype        only for encodings with learned data (registry
 *                                                            `weights`: rope.comrope's generators, rope.psc's gate)
 *     For each token t, head h and pair i < R/2, with angle a = (pos[axis_i][t] + o) * inv_freq[i]:
 *         (y_a, y_b) = g * (x_a cos a - x_b sin a,  x_a sin a + x_b cos a)
 *     where the pair (a, b) is
 *         pairing=interleaved: (2i, 2i+1)        lanes of one head: [x0 x1 | x2 x3 | ...]  -> [cscs....]
 *         pairing=half:        (i,  i + R/2)     lanes of one head: [x0 .. x(R/2-1) | x(R/2) ..] -> [ccss....]
 *     Channels R..D-1 are copied through unchanged (partial rotary). inv_freq[R/2], the attention factor
 *     and the gain g come from the encoding's frequency schedule (reference/<encoding>.c states each):
 *         g = attn                                   every schedule but xPos and Entropy-ABF queries
 *         g = attn * zeta_i^(+-(pos[0][t] - c)/scale_base)   xPos (+ for role=query, - for role=key)
 *         g = attn * max(1, ln(pos[0][t] + 1)/ln(train_length))   rope.entropy_abf, role=query (the factor
 *                                                    is 1 wherever pos + 1 <= train_length, negative too)
 *     and the position offset o is 0 except for rope.string's shifted queries (role=shifted):
 *         o = local_value - shifted_offset
 *     Per-head schedules multiply inv_freq[i] by a factor s_h of the head (and may fix its position row):
 *         rope.mspoe   s_h = 1/r, r = min_ratio + (max_ratio - min_ratio) * head_order[j]/H_q, j = h (role=query)
 *                      or h * kv_groups (role=key), H_q = number of query heads
 *         rope.mhrope  pos [3, T]; KV head k = h (role=key) or h / kv_groups (role=query) reads row t, h or w by
 *                      head_sections [s_t, s_h, s_w] for every pair (factor 1), or is NoPE beyond them (factor 0)
 *         rope.harpe   not a factor: head h has its own inv_freq[i] = b_h^(-2i/R) (one RoPE base per head; uniform
                      b_min + h (b_max - b_min)/(H - 1), descending b_(H-1-h), the paper's Table 2 or a list), freq_factors
                      dividing each; H = 3, R = 4, bases 4, 34, 64: pair 1 turns at 1/2, 1/sqrt(34), 1/8 per head
         rope.plusplus  role=query: the heads named by imag (all; upper h >= H/2; odd h % 2 == 1) use
 *                      (sin a, -cos a) in place of (cos a, sin a): y = x sin a - rot(x) cos a, the turn at a - pi/2
 *     axis_i is 0 except for multi-axis encodings:
 *         rope.mrope   sections [s_t, s_h, s_w]: pairs 0..s_t-1 use row t, the next s_h row h, then w
 *                      (R = 16, sections [4,2,2], pairing half:  [ttttyyxx ttttyyxx] by lane)
 *         rope.imrope  pair i uses h if i%3==1 && i<3*s_h, w if i%3==2 && i<3*s_w, else t  [tyxtyxty..]
 *         rope.vision2d  pairs 0..R/4-1 use row h with inv_freq base^(-4i/R); pairs R/4.. use row w
 *                      with the index restarted: inv_freq[R/4 + k] = inv_freq[k]
 *         rope.vrope   pos [4, T]: pair i uses row i % 4 (the four symmetric h/w variants of VRoPE)
 *         rope.hope_vlm  sections [s_t, s_h, s_w]: pair i < s_h+s_w uses h (i even) or w (i odd); the last
 *                      s_t pairs have inv_freq 0 (NoPE); row t is not read
 *     Block schedules are not pair rotations (pairing, rotary_dim and the gain g do not apply):
 *         rope.comrope  pos [2, T] (rows h, w); "w" [H+2, D*b] (b = block): the learned generators. The D lanes
 *                      of head h are D/b blocks of b consecutive lanes, block j turned by a b x b matrix exponential
 *                        y[jb .. jb+b-1] = exp((c_0j pos[0][t] + c_1j pos[1][t]) S_hj) x[jb .. jb+b-1]
 *                      S_hj = P - P^T with P[r][c] = w[h][j*b*b + r*b + c]; variant=ap: c_ij = 1 if j % 2 == i,
 *                      else 0; variant=ld: c_ij = w[H+i][j]. D = 8, b = 4, ap:
 *                      lanes [x0 x1 x2 x3 | x4 x5 x6 x7] -> [hhhh wwww]: two 4 x 4 rotations, block 0 by row h,
 *                      block 1 by row w (b = 2, ap: [hh ww hh ww], each block a pair rotation by pos * theta)
 *     A content gate comes before the rotation (rope.psc; rotary_dim = D, every lane gated):
 *         rope.psc     "w" [4*H*D, D]: blocks of H*D rows U_q, V_q, U_k, V_k, head h's D x D map at rows h*D .. h*D+D-1
 *                      of its block; role=query reads U_q, V_q, role=key U_k, V_k. Head h of token t is first
 *                        g[j] = x[j] * (1 + tanh(sum_r silu(sum_i x[i] U_h[i][r]) V_h[r][j]) / 2)
 *                      and g is rotated as above (pairing, base, freq_factors, attn_factor apply). D = 2, pos 1:
 *                      x = (1, 2), U_q = [[0, 0], [1, 0]], V_q = [[L, -L], [0, 0]], L = ln 2 / silu(2):
 *                      x U_q = (2, 0), tanh(silu(.) V_q) = (0.6, -0.6), g = (1.3, 1.4), out = g turned by 1 rad
 *     A content phase replaces the position in the angle (rope.selective; rotary_dim = D; pos read only to check that
 *     the tokens are consecutive, pos[t] = pos[0] + t):
 *         rope.selective  "w" [T+1, H*D/2]: row 0 the earlier tokens' running sum (0 for a call starting a
 *                      sequence), row 1+t token t's phase phi; pair i of head h at token t turns by
 *                        a = inv_freq[i] * (w[0][h*D/2 + i] + sum_{s <= t} w[1+s][h*D/2 + i])
 *                      inv_freq[i] = temp_max * base^(-2i/D); pairing, freq_factors, attn_factor apply. D = 4,
 *                      base 16: inv_freq (1, 1/4); w = [[0.5, 2], [1, -1], [0.25, 4]]: token 0 turns pairs by
 *                      (1.5, 0.25) rad, token 1 by (1.75, 1.25)
 *         rope.carope  "w" [T+D/2, H]: rows 0..T-1 head logits z[t][h], rows T+i the sums o[i][h] carried in (pos
 *                      consecutive from pos[0] >= 0); f = 1/(softplus(z)+1); inv_freq = 1 and pair i (from 0) of head h
 *                      turns by o[i][h] + sum over tokens s <= t with pos[s] >= 1 of f[s][h]^i (f = 10000^(-2/D)
 *                      everywhere: RoPE); default pairing interleaved
 *     Length-dependent schedules (rope.dynamic_ntk, rope.longrope) take the current length from their
 *     seq_len parameter, or when it is 0 from this call's positions: pecs_problem_seq_len() below.
 *     Encodings whose query and key transforms differ (xpos, rope.entropy_abf, rope.string, rope.psc) have a CHOICE
 *     parameter `role`; the harness gives keys role=key.
 *
 *   BIAS     "qpos" [Lq]  i32 | i64 | f64   "kpos" [Lk] same dtype
 *            "w"    [r, c] dtype = problem->dtype   only for encodings with learned data (t5, fire, ...)
 *            "out"  [H, Lq, Lk]  dtype = problem->dtype     out[h][i][j] = bias_h(qpos[i], kpos[j])
 *         positional_attention  n = pos_dim; w [n+1, 2nH] is qk_proj = Linear(n, 2nH) on the one-hot rows of eye(n):
 *                      rows 0..n-1 its weight transposed, row n its bias. qpos, kpos name rows: integers in [0, n),
 *                      else invalid. Head h's q lanes are columns 2nh .. 2nh+n-1, its k lanes the n after them:
 *                        Q_h(p)[c] = w[p][2nh+c] + w[n][2nh+c],   K_h(p)[c] = w[p][2nh+n+c] + w[n][2nh+n+c]
 *                        out[h][i][j] = sum_c Q_h(qpos_i)[c] K_h(kpos_j)[c] / sqrt(n)    no mask, no softmax
 *                      columns (n = 2, H = 2):  [q0 q0 k0 k0 | q1 q1 k1 k1]
 *                      w = [1  0 |  2 1 | ..]  row 0 (e_0)      head 0, query 1, key 0:
 *                          [0  3 | -1 1 | ..]  row 1 (e_1)        Q = [0 3] + [1 -1] = [1 2], K = [2 1] + [0 1] = [2 2]
 *                          [1 -1 |  0 1 | ..]  row 2 (bias)       out = (1*2 + 2*2) / sqrt(2) = 6/sqrt(2)
 *
 *   MASK     "qpos" [Lq], "kpos" [Lk] as BIAS;  "out" [1, Lq, Lk]  out[0][i][j] = 0 if key j is visible
 *            to query i, else -infinity (additive mask in problem->dtype)
 *     Tier-2 masks read positions as token indices from the sequence start (q = qpos[i], k = kpos[j]); visible iff
 *     (diagrams: 1 visible, . masked)
 *         lm_infinite  k <= q and (q - k < n_local or k < n_global)       the Lambda: band plus the first keys
 *                      q\k 0 1 2 3 4 5 6          (n_local = 2, n_global = 1)
 *                       4  1 . . 1 1 . .          key 0 global, keys 3-4 local, keys 1-2 masked
 *                       6  1 . . . . 1 1
 *                      (its capped rotary distance on the global keys is a score, not visibility: not here)
 *         s2attn       k <= q and floor((q - s)/G) == floor((k - s)/G), G = group_size, s = 0 (half = unshifted) or
 *                      G // 2 (half = shifted): one call is one half of the heads (out has no head axis)
 *                      q\k 0 1 2 3 4 5 6 7     (G = 4, shifted: groups {0,1} {2..5} {6,7})
 *                       5  . . 1 1 1 1 . .     unshifted, query 5 would see keys 4, 5 only
 *         xpos.bca     k <= q and floor(k/B) >= floor(q/B) - 1, B = train_len / 2 (blocks from position 0): its own
 *                      block up to itself and the whole block before
 *                      q\k 0 1 2 | 3 4 5 | 6 7 8 | 9    (train_len 6: B = 3)
 *                       7  . . . | 1 1 1 | 1 1 . | .    blocks 1 and 2, causal
 *         cca          q, k both in the image [image_start, image_start + grid^2): ring(k) <= ring(q), ring of patch
 *                      t = min(r, c, grid-1-r, grid-1-c) (r, c = t / grid, t % grid); otherwise k <= q
 *                      q\k 0 1 | 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 | 18 19   (grid 4 from 2: ring 1 = 7 8 11 12)
 *                       2  1 1 | 1 1 1 1 1 . . 1  1  .  .  1  1  1  1  1 |  .  .  corner: ring 0 only, later ones too
 *                       7  1 1 | 1 1 1 1 1 1 1 1  1  1  1  1  1  1  1  1 |  .  .  centre: every ring
 *         packing      block(t) = b for c_b <= t < c_b + lengths[b], c_b = lengths[0] + .. + lengths[b-1] (the packed
 *                      prompts' token counts; cu_seqlens = c): k <= q and block(q) == block(k); positions lie below the
 *                      sum of the lengths (no lengths: one block, the causal mask)
 *                      q\k 0 1 2 | 3 | 4 5 6 7 | 8 9     (lengths [3, 1, 4, 2])
 *                       3  . . . | 1 | . . . . | . .     a prompt of one token: itself only
 *                       6  . . . | . | 1 1 1 . | . .     causal inside its block, nothing of the prompts before
 *                      The segment layout is a parameter (like s2attn's groups) and qpos/kpos stay token indices of the
 *                      packed sequence, so no tensor was added and no struct changed (PECS_ABI_MINOR stays); the
 *                      restarted ids (q - c_block(q)) are what the rotary gets, not what this mask reads.
 *         anchor       doc(0) = 0 (the shared anchor), doc(t) = b + 1 for 1 + c_b <= t < 1 + c_b + lengths[b] (c_b as
 *                      packing's): k <= q and (k == 0 or doc(q) == doc(k)); positions lie below 1 + the lengths' sum
 *                      q\k 0 | 1 2 3 | 4 | 5 6 7 8 | 9 10     (lengths [3, 1, 4, 2])
 *                       4  1 | . . . | 1 | . . . . | .  .     the anchor and its one-token document
 *                       7  1 | . . . | . | 1 1 1 . | .  .     the anchor, causal inside its document
 *         parallel_context  window(t) = b for c_b <= t < c_b + lengths[b] (c_b as packing's), task tokens from the sum
 *                      S on; keep = the first longest window: a window query sees k <= q in its window; a task query
 *                      sees k <= q but the start c_b of every window b != keep (not in the combined cache)
 *                      q\k 0 1 2 | 3 4 5 6 | 7 8 | 9 10 11   (lengths [3, 4, 2])
 *                       5  . . . | 1 1 1 . | . . | .  .  .    causal inside its window
 *                       9  . 1 1 | 1 1 1 1 | . 1 | 1  .  .    task: the longest window whole, the others' starts dropped
 *         etc          the fused stream [global | long]: G = number of lengths (one global token per sentence) at
 *                      0..G-1, then sentence s = [G + c_s, G + c_s + lengths[s]) (c_s as packing's), sent(t) = s there.
 *                      q, k global: visible; q long, k global: !hard_l2g or sent(q) == k; q global, k long: !hard_g2l
 *                      or sent(k) == q; q, k long: |q - k| <= local_radius (not causal, across sentences); positions
 *                      lie below G + the lengths' sum (no lengths: every token long, the band)
 *                      q\k 0 1 2 | 3 4 5 | 6 | 7 8 9 10   (lengths [3, 1, 4], local_radius 2, hard_l2g)
 *                       0  1 1 1 | 1 1 1 | 1 | 1 1 1 1    global: every token (hard_g2l: its sentence's long ones)
 *                       6  . 1 . | . 1 1 | 1 | 1 1 . .    long: its sentence's global token, long tokens within 2
 *                      ETC's relative position labels index a learned table (a logit term): not this form.
 *
 *   EMBED    "x"   [T, D]  dtype     "pos" [P, T]  i32 | i64 | f64    (P = registry `rows`: 1, or 2 for sigma_gpt)
 *            "w"   [r, c] dtype      learned data: learned [npos, D]; sigma_gpt [npos, D/2]; fourier, seqpe (reference);
 *                                    graph.maglap [T, T] (the graph)
 *            "out" [T, D]  dtype     out[t][d] = x[t][d] + P(pos[0..P-1][t], d)   (in place allowed, as ROTATE)
 *         sigma_gpt   P = 2 (row 0 the token's own position, row 1 the next one in its order), D even:
 *                     out[t] = x[t] + [ w[pos[0][t]][0 .. D/2-1] | w[pos[1][t]][0 .. D/2-1] ]
 *                     w = [[a b], [c d], [e f]] (npos 3, D 4)    pos row 0 (own)   1  0
 *                                                                 pos row 1 (next)  0  2
 *                     out - x:  t = 0  [c d | a b]    t = 1  [a b | e f]
 *         peg         P reads x, not pos (the one such row): a depthwise 3x3 conv (zero padding, bias) over the grid.
 *                     n = class_tokens (0 or 1), W = width, H = (T - n)/W (T - n a positive multiple of W); w [D, 10]:
 *                     per channel c the taps k[c][3i + j] (i, j = 0..2, Conv2d weight[c][0][i][j]) and the bias w[c][9].
 *                     t < n: out[t] = x[t];  t = n + r W + q:
 *                       out[t][c] = x[t][c] + w[c][9] + sum_ij w[c][3i + j] x[n + (r+i-1) W + (q+j-1)][c]   (0 off-grid)
 *                     x rows (n = 1, W = 3, H = 2):  [cls | g00 g01 g02 | g10 g11 g12]
 *                     token g02 reads  . . .    (row -1: zeros)     taps  k0 k1 k2
 *                                      g01 g02 .  (col 3: zeros)          k3 k4 k5
 *                                      g11 g12 .                          k6 k7 k8
 *                     In place (out aliases x) a kernel must read a row's neighbours before it overwrites the row.
 *                     No struct changed (width and class_tokens are parameters, w the learned data).
 *         seqpe       P = SeqPE's learned digit encoder (reference/seqpe.c; w layout in docs/encodings.md, "Learned data"):
 *                     pos[0][t] an integer 0 <= p < 10^m (m = max_digits; else invalid), written in decimal, left-padded
 *                     with the digit 0 to m slots, a class token appended: tokens E_tok[digit] + E_pos[slot], then cls;
 *                     `layers` pre-LN GPT-2 blocks (causal or bi; pad slots masked as keys when mask_padding); the
 *                     class token's row, LayerNorm'd when last_layernorm, through Linear(hidden, D) is P.
 *                       m 5, p 307:  slot   0   1   2   3   4   cls
 *                                    digit  0   0   3   0   7   -      (slots 0, 1 are pads; slot 3 is a digit)
 *                                    pooled: the cls row (x[:, -1])    w [m + 13 + layers (7 hidden + 8) + D, 4 hidden]
 *         graph.maglap  P reads a graph, not pos: the T tokens are its nodes, w [T, T] its adjacency (edge u -> v iff
 *                     w[u][v] > edge_threshold; a 0/1 matrix reads as itself). A_s = A or A^T, deg its row sums,
 *                     Theta = 2 pi q (A - A^T), q / max(1, min(#pairs joined one way only, T)) unless q_absolute;
 *                     L = I - (Dc^-1/2 A_s Dc^-1/2) . exp(i Theta), Dc = max(deg, 1) (sym) or D - A_s . exp(i Theta)
 *                     (none). v_1..v_k: unit eigenvectors of the (k_excl+1)-th.. lowest eigenvalues, each times
 *                     conj(v[r])/|v[r]|, r its largest-modulus node (lowest index among those within 1e-8, relative,
 *                     of the largest squared modulus): v[r] real > 0. out[t] = x[t] + [Re v_1[t] .. Re v_k[t] |
 *                     Im v_1[t] .. Im v_k[t] | 0 ..], 2k <= D, zero columns for vectors past the T-th. In double: the
 *                     harness refuses graphs whose kept eigenvalues (or the next ones) lie within 1e-5 of each other or
 *                     whose anchor is within rounding of a tie, so any correct double solver passes.
 *                     0 -> 1 -> 2 (k 1, D 2, q 0.25 relative -> 0.125: Theta = +-pi/4), deg 1 2 1, eigenvalues 0 1 2:
 *                     v_1 = (e^{i pi/4}/2, sqrt2/2, e^{-i pi/4}/2), anchor node 1
 *                     out - x:  t = 0  [sqrt2/4 | sqrt2/4]   t = 1  [sqrt2/2 | 0]   t = 2  [sqrt2/4 | -sqrt2/4]
 *                     No struct changed (k, k_excl, q, q_absolute, normalization, edge_threshold are parameters).
 *
 *   SCORES   "q" [Lq, H, D], "k" [Lk, H, D]  dtype      "qpos" [Lq], "kpos" [Lk]  (causal: k visible iff
 *            kpos <= qpos)      "w" [r, c] dtype (learned data, e.g. CoPE's e[D, npos])
 *            "out" [H, Lq, Lk] dtype  attention logits, -infinity where masked
 *         tra          w [H, Lq]: the gate projection's raw output a[h][i]; s = q_i.k_j/sqrt(D); key j kept iff
 *                      kpos_j <= qpos_i and s > 0; out = s + logsigmoid(a[h][i]) * c, c = kept keys at positions
 *                      kpos_j .. qpos_i (itself included); -inf where not kept (a row may be all -inf)
 *                      q\k  0  1  2       s = [.5 -.25 2] at query 2: kept {0, 2}, c = [2 - 1]
 *                       2  .5+2g -inf 2+g
 *                      Where |s| is within float32 rounding of the dot product (gamma_D sum |q_d k_d|/sqrt(D), plus
 *                      the dtype's smallest subnormal) the harness judges that key's element and the counts it enters
 *                      (earlier kept keys of the row) against every decision's value, not the reference's one: -inf
 *                      (that key only) or a value s + g c some decision gives, never NaN; at most 1% of a case's
 *                      elements, else MISTRUSTED.
 *         gateloop     w [2H, Lq]: the gate Linear's raw output c = w[h][t] + i w[H+h][t] of token t, a_t = sigmoid(|c|)
 *                      c/|c|; Lq = Lk (one sequence: gate t is key row t's); out = q_n.k_m Re(prod a_j over keys j with
 *                      kpos_m < kpos_j <= qpos_n) if kpos_m <= qpos_n, else -inf. No scale, no softmax: the weights of a
 *                      linear attention (y_n = sum_m out v_m, masked keys weigh 0)
 *                      keys 0 1 2, a_1 = 3/4, a_2 = -3/4:  row 2 = [q2.k0 (-9/16), q2.k1 (-3/4), q2.k2]
 *         path         w [H*Lq, D+1]: row h*Lq + t = token t's raw w (D values) and raw beta logit b; Lq == Lk and
 *                      kpos strictly increasing (else invalid). u_t = w_t/sqrt(|w_t|^2 + 1e-6), beta_t = 2 sigmoid(b_t),
 *                      H_t = I - beta_t u_t u_t^T; out = q_i^T H_i ... H_{j+1} k_j / sqrt(D) over the keys t with
 *                      kpos_j < kpos_t <= qpos_i (the latest leftmost); -inf where kpos_j > qpos_i.
 *         bros.crel    qpos [8, Lq], kpos [8, Lk]: the 8 box-corner coordinates of each token (registry rows 8);
 *                      no mask (an encoder). w [8m, D] = bbox_projection.weight^T, m = sinusoid_dim (BROS: hidden/32):
 *                        d_c = kpos[c][j] - qpos[c][i] (c = 0..7), inv_r = 10000^(-2r/m), s = bbox_scale, r < m/2:
 *                        e[c m + r] = sin(s d_c inv_r),  e[c m + m/2 + r] = cos(s d_c inv_r)
 *                        out = q_i . (k_j + w^T e) / sqrt(D)       (w^T e is shared by the heads; m must be even)
 *                      H = 1, D = 64, m = 2, q = e_0, k = 5 e_0, w[0][0] = 1 (coordinate 0's sine), w[3][0] = 2
 *                      (coordinate 1's cosine), s = pi/2, query box 0, key box (1, 2, 0, ..):
 *                        out = (5 + 1 sin(pi/2) + 2 cos(pi)) / 8 = 1/2
 *         cable        w [H, Lq]: token t's raw bias h[h][t]; Lq == Lk and kpos strictly increasing (else invalid).
 *                      out = s q_i.k_j - sum softplus(h[h][t]) over the keys t with kpos_j < kpos_t <= qpos_i
 *                      (= z_i - z_j, z_t = -cumsum softplus(h) over the tokens), -inf where kpos_j > qpos_i;
 *                      s = 1/sqrt(H*D) (qk_scale d_model, default) or 1 (qk_scale none)
 *                      h = [ln 7, 0, ln 3]: softplus = [3, 1, 2] ln 2;   q\k  0          1          2
 *                      (bias only, q.k = 0)                                2  -3 ln 2    -2 ln 2     0
 *         rope.tapa    A = theta*D amplitude lanes (the first A of the head; an integer in 1..D-1), d = |qpos_i - kpos_j|:
 *                      out = (q_A.k_A / sqrt(A)) cos(2 pi d^alpha q_P.k_P / sqrt(D - A)), -inf where causal and
 *                      kpos_j > qpos_i; at d = 0 the cosine is 1 (0^alpha = 0). D 8, theta 0.5, alpha 0.1, d 1024
 *                      (d^alpha = 2): q = (1 2 0 0 | 1 0 0 0), k = (3 .5 0 0 | .5 0 0 0): 2 cos(pi) = -2
 *         rope.windowed  no w. r = qpos_i - kpos_j, replaced by P (wrope_relative_pos) when r >= W (wrope_local_window)
 *                      and the key index j >= S (attention_sink); out = sum_f cos(r w_f)(q_a k_a + q_b k_b) +
 *                      sin(r w_f)(q_a k_b - q_b k_a), over sqrt(D); w_f = base^(-2f/D), pairs (a, b) = (f, f + D/2) half
 *                      or (2f, 2f + 1) interleaved; D even (else invalid); -inf where r < 0
 *                      D 2, q (1,0), k (1,1), W 2, S 1, P 5, positions 0..3: row 3 = [c(3) c(5) c(1) c(0)],
 *                      c(r) = (cos r + sin r)/sqrt 2 (key 0 a sink, key 1 beyond the window)
 *         rope.gali    no w; positions are token indices (integers >= 0, else invalid), L = max qpos + 1. Query m's
 *                      chunk ends at T = min(L, L_tr + s ceil((m + 1 - L_tr)/s)) (T = L_tr for m < L_tr); ids for T > L_tr:
 *                      g = ceil((T - L_w)/(L_tr - L_w)), i* = ceil((T - L_tr)/(g - 1)), F = T - L_tr + i*: id(t) = t/g for
 *                      t < F, i* + t - F after (plain t when T <= L_tr). a(r) = RoPE logit at distance r over sqrt(D)
 *                      (pairs as rope.windowed); out = a(cm - ceil id_n) (1 - c) + a(cm - floor id_n) c, cm = ceil id_m,
 *                      c = ceil id_n - id_n; -inf where kpos > qpos. L_w < L_tr (else invalid). No noise.
 *                      L_tr 4, L_w 2, s 2, tokens 0..5: ids of chunk 2 [0 .5 1 1.5 2 3]; row 5 = [a3 (a2+a3)/2 a2 ...]
 *         tape         w [H*Lq, 2D]: row h*Lq + t = token t's position state for head h, C_t (D values) then S_t (D
 *                      values); Lq == Lk (the states are the tokens') and D even, else invalid. Pairs (f, b = f + D/2):
 *                      q~[f] = q[f] C_i[f] - q[b] S_i[f], q~[b] = q[b] C_i[b] + q[f] S_i[b], k~ likewise with C_j, S_j;
 *                      out = q~.k~/sqrt(D), -inf where kpos_j > qpos_i. C = cos, S = sin of t w_f in both halves: RoPE.
 *                      D 4; token 0: C = 1, S = 0; token 1: C = (0 2 0 1), S = (1 0 3 0); q1 = (1 2 3 4) -> q~1 =
 *                      (-3 4 3 4); k0 = (1 0 2 1): out[1][0] = 7/2; k1 = (1 0 0 1) -> k~1 = (0 0 3 1): out[1][1] = 13/2
 *
 *   POSMAP   "idx" [1, T]  i32 | i64 | f64   the layout input: token t's index in the sequence the encoding
 *                                             remaps (PoSE: the index in the chunked training input; Self-Extend:
 *                                             the plain position id; BiPE: the token id; randomized: the sampled
 *                                             position, in the order the caller's generator drew it; group PE: the
 *                                             index in the source + target input; CREAM: the index in the window)
 *            "out" [P, T]  same dtype as "idx" P = registry `rows`; every row is a position row ready to be
 *                                             the "pos" [P, T] of a rotate or embed call, or the "qpos"/"kpos" of a
 *                                             bias or mask call, unchanged (integer ids stay integers)
 *     out[r][t] = map_r(t, idx[0..T-1], params): the map may read the whole call's idx (Self-Extend's shift
 *     depends on max(idx); BiPE's row for token t counts the separators before t), never another call's.
 *     Integer ids are compared exactly (no tolerance). The form needed no ABI change (PECS_ABI_MINOR stays):
 *     PECS_FORM_POSMAP already existed and no struct changed; a backend that does not know the form declines
 *     its encodings in supports() like any other unknown id.
 *         pose         P = 1: out[0][t] = idx[t] + (idx[t] < chunk1 ? skip1 : skip2), 0 <= skip1 <= skip2
 *                      idx  0 1 2 | 3 4 5 6 7        (chunk1 = 3, skip1 = 0, skip2 = 10)
 *                      out  0 1 2 |13 14 15 16 17    chunk 0 keeps its ids, chunk 1 jumps by skip2
 *         self_extend  P = 3, G = group_size, W = window (W % G == 0), s = W if max(idx) >= W else 0:
 *                      row 0  idx[t]                          neighbour pass, queries and keys
 *                      row 1  floor(idx[t]/G) + s - s/G       grouped pass, queries
 *                      row 2  floor(idx[t]/G)                 grouped pass, keys
 *                      query i, key j (j <= i) use rows (0, 0) when idx[i] - idx[j] < W, else (1, 2):
 *                      idx    0 1 2 3 4 5 6 7 8 9             (G = 2, W = 4, s = 4)
 *                      row 1  2 2 3 3 4 4 5 5 6 6
 *                      row 2  0 0 1 1 2 2 3 3 4 4             query 9, key 0 (9 - 0 >= W): distance 6 - 0 = 6;
 *                                                             query 9, key 6 (3 < W): distance 9 - 6 = 3
 *         bipe         P = 2, sep(t) = idx[t] is one of `separators` (a separator ends its segment):
 *                      row 0  t - (last u < t with sep(u)) - 1, or t if none       offset in the segment
 *                      row 1  number of u < t with sep(u)                           segment index
 *                      idx    5 9 . 4 . . 7        ('.' a separator)
 *                      row 0  0 1 2 0 1 0 0        (min(row 0, train_scale - 1) when train_scale > 0)
 *                      row 1  0 0 0 1 1 2 3
 *         randomized   P = 1: out[0] = idx sorted ascending (repeats kept); the draw itself is the caller's
 *                      idx  1500 3 977 2047 40      (a draw from [0, 2048), the authors' noise_max_length)
 *                      out  3 40 977 1500 2047
 *         group_pe     P = 1, S = source_len: out[0][t] = idx[t] < S ? idx[t] : target_start + (idx[t] - S)
 *                      idx  0 1 2 | 3 4 5 6 7        (S = 3, target_start = 0: source then target, each from 0)
 *                      out  0 1 2 | 0 1 2 3 4
 *         cream        P = 1, L = window, H = head_len, C = L - 2H, f = factor, L - H - 1 <= end_id <= f L - H - 1:
 *                      out[0][t] = idx[t] + (idx[t] < H ? 0 : idx[t] < L - H ? end_id - (C - 1) - H : f L - L)
 *                      idx  0 1 2 3 | 4 .. 11  | 12 .. 15      (L = 16, H = 4, f = 2, end_id = 20)
 *                      out  0 1 2 3 | 13 .. 20 | 28 .. 31      head, middle ending at end_id, tail ending at f L - 1
 *         v2pe         P = 1, idx = token ids, s = stride / num_image_token; real ids: idx and out f64 only (the
 *                      harness rejects i32/i64 cases and judges the ids within 4 float32 ulps):
 *                      text: previous id + 1 (<img> included); the k-th token after <img>: id(<img>) + k s;
 *                      </img>: ceil(previous id) + 1
 *                      idx  7 <img> a a a a </img> 9    (num_image_token 4, stride 2: s = 1/2)
 *                      out  0 1     1.5 2 2.5 3 4   5
 *         position_coupling  P = 1, idx = index in "[BOS] a + b = c [EOS]", lengths = [len a, len b, .., len c],
 *                      end = start + max operand length + 1: operand digits end - len .. end - 1, the '+' / '=' after
 *                      each end, result end - len c .. end - 1 (walked down when reverse_output); BOS, EOS, pads 0
 *                      token  BOS | 1 2 + | 3 4 5 = | 7 5 3 | EOS   (12+345=357, start 1, reverse_output: end 5;
 *                      out    0   | 3 4 5 | 2 3 4 5 | 4 3 2 | 0      idx = 0..11)
 *
 *   KATTN    "q" [Lq, H, D], "k" [Lk, H, D], "v" [Lk, H, D]  dtype    (no position tensors: query i and key j
 *            sit at token indices i and j, 0-based)      "w" [r, c] dtype (learned and random data, per encoding)
 *            "out" [Lq, H, D] dtype   attention OUTPUTS (not logits), out[i][h] for query i and head h, by a
 *            formula per encoding (below); every one is a weighted sum of the values, out[i][h] = sum_j a_h(i, j) v_j,
 *            with weights from q, k and the token indices (a Toeplitz (j - i) factor, or landmark's block grid),
 *            judged against the reference's direct sum in double. Bidirectional (every key visible to every query,
 *            no mask) unless the encoding says otherwise: landmark, focused_memory, extended_mind,
 *            fitm.calibration and longheads are causal; pine masks its prefix and suffix causally and its documents
 *            by re-assigned position.
 *         toeplitz.fft  kernelized attention with relative positions:
 *                out[i][h] = sum_j c_h(j - i) kappa_h(q_i, k_j) v_j / sum_j c_h(j - i) kappa_h(q_i, k_j)
 *                      with kappa a positive kernel (a feature map's dot product) and c_h(j - i) > 0 a Toeplitz factor.
 *                      The direct sum costs O(Lq Lk); a kernel may instead apply the Toeplitz factor by FFT in
 *                      O((Lq + Lk) log(Lq + Lk)) (the point of the encoding).
 *                      c_h(d) = exp(b_h[d]), kappa = phi(q_i) . phi(k_j), phi(x) = exp(W x' - |x'|^2/2)/sqrt(m),
 *                      x' = x / D^(1/4); w [1, H*(2N+1) + m*D] = [ b_0[-N..N] | b_1[-N..N] | ... | W (m x D) ]
 *                      (N = max_distance, m = features; Lq - 1 <= N and Lk - 1 <= N). The FFT form of the sum:
 *                      A_j = phi(k_j) (x) [v_j, 1]   (m (D + 1) lanes per key), then for every lane the
 *                      Toeplitz product y_i = sum_j c(j - i) A_j is one linear convolution of A (zero-padded
 *                      to L >= Lq + Lk - 1 points) with r[s] = c(-s), s = i - j in [-(Lk-1), Lq-1]:
 *                          Lq = Lk = 3, L = 8:   r_circ = [c0 c-1 c-2  0  0  0 c2 c1]   (index s mod L)
 *                          y_i = IFFT(FFT(A padded) FFT(r_circ))[i],  i < Lq
 *                      out_i = phi(q_i) . y_i[0..m, 0..D) / phi(q_i) . y_i[0..m, D]. Without the zero
 *                      padding (L = 4 here) s = -3 and s = 1 share index 1: circular, not linear, convolution.
 *         urpe         softmax attention whose probabilities are multiplied by a learned Toeplitz factor, with NO
 *                      renormalisation after the product (rows of p * C need not sum to 1):
 *                          p_ij = softmax_j(q_i . k_j / sqrt(D) + B_h(j - i)),   out[i][h] = sum_j p_ij C_h(j - i) v_j
 *                      B_h(d) = w[row(d; rp_bucket, max_rp)][h],  C_h(d) = w[rp_bucket + 1 + row(d; ur_rp_bucket,
 *                      ur_max_rp)][h]; w [rp_bucket + ur_rp_bucket + 2, H] (B's table, then C's). row(d; nb, M) =
 *                      sgn(d) mag(|d|) + (d >= 0 ? 2 : 0) + mag(max_seq_len - 1), mag = T5's magnitude bucket with
 *                      nb // 2 buckets (n < nb // 4 exact, then log-spaced up to M, capped at nb // 2 - 1; the float32
 *                      sequence of reference/t5.c). Lq, Lk <= max_seq_len. Defaults (64 buckets, M = 128, max_seq_len 256):
 *                          d    -200 -113 -112 .. -16 -15 .. -1 | 0  1 .. 15 16 .. 112 113 200
 *                          row     0    0    1 ..  15  16 .. 30 | 33 34 .. 48 49 ..  63  64  64   (31, 32 unused)
 *                      Lq = Lk = 2, per head:  p = [p00 p01]   C = [C(0)  C(+1)]   out_0 = p00 C(0) v_0 + p01 C(+1) v_1
 *                                                  [p10 p11]       [C(-1) C(0) ]   out_1 = p10 C(-1) v_0 + p11 C(0) v_1
 *         landmark     causal softmax attention with Landmark attention's grouped softmax; Lk == Lq (query i is
 *                      token i), no "w". B = block_size; token t is a landmark when t % B == B - 1 (the landmark
 *                      that closes block t // B). s_ij = q_i . k_j / sqrt(D). For query i, the LAST GROUP is
 *                      G_i = { j <= i : j // B == i // B, j not a landmark }  (the own, open block: a landmark
 *                      query's own landmark is masked)  u  { j < i : j a landmark }  (every closed block's);
 *                          Z_i = sum_{j in G_i} e^{s_ij};   a_ij = e^{s_ij} / Z_i for j in the own block,
 *                          a_ij = (e^{s_i,l(b)} / Z_i) * softmax over block b's regular keys of s_ij
 *                                 for j a regular key of a closed block b (l(b) = b B + B - 1 its landmark),
 *                          a_ij = 0 for j a landmark or j > i.         Each query's weights sum to 1.
 *                      B = 3, six tokens (L = landmark), query 4:   keys  0  1  L2 | 3  4  L5
 *                          last group {L2, 3, 4}, e^s = (1, 1, 2), Z = 4; block 0 in itself e^s = (1, 3):
 *                          a_4 = (1/4 * 1/4, 1/4 * 3/4, 0, 1/4, 2/4, 0) = (1/16, 3/16, 0, 4/16, 8/16, 0);
 *                          query 5 (L5, its own landmark masked) has the same weights.
 *         focused_memory  one FoT / LongLLaMA memory layer with the full (exact, non-kNN) memory lookup. Keys are
 *                      [M memory | L local]: Lk = M + Lq (M = memory), key m < M a memory key, key M + j local token
 *                      j, query i local token i; no "w". q and k come UNROTATED: the encoding rotates them (RoPE,
 *                      half-split pairs (d, d + D/2), inv_freq[d] = base^(-2d/D)): query i and local key j at their
 *                      index, memory keys at position 0 (the identity). One causal softmax over both:
 *                          s_im = R(i) q_i . k_m / sqrt(D)              every memory key m < M
 *                          s_ij = R(i) q_i . R(j) k_M+j / sqrt(D)       local keys j <= i (causal)
 *                          a_i = softmax over { s_im } u { s_ij };  out[i][h] = sum a v (memory values, then local)
 *                      D = 2 (angle = position, radians), M = 1, Lq = 2, query 1:  keys  m | t0 t1
 *                          q_1 = (sqrt 2, 0): R(1) q_1 / sqrt 2 = u = (cos 1, sin 1);  m = ln 2 u, t0 = (0, 0),
 *                          t1 = (ln 3, 0) (R(1) t1 . u = ln 3): e^s = (2, 1, 3), a_1 = (1/3, 1/6, 1/2);
 *                          v = (6, 0) | (0, 6) (0, 0)  ->  out_1 = (2, 1). Query 0 sees m and t0 only.
 *         extended_mind  one Extended Mind attention layer with manual memories: keys, rotation and the one causal
 *                      softmax as focused_memory (memory keys unrotated), but each (query, head) keeps only its
 *                      T = min(topk, M) memory keys of largest cosine c_im = R(i) q_i . k_m / (|q_i| |k_m|) (to the
 *                      ROTATED query; ties: any order, the harness judges near ties against every admissible
 *                      selection); the others get weight 0. No "w".
 *                      D = 2, M = 3, topk = 2, Lq = 1, q_0 = (sqrt 2, 0):  keys  m0 m1 m2 | t0
 *                          m0 = (ln 2, 0) cos 1, m1 = (ln 5, ln 5) cos .71, m2 = (ln 3, .2 ln 3) cos .98, t0 = (0, 7):
 *                          S = {m0, m2}, e^s = (2, 3, 1); v = (3, 0), (0, 2) | (0, 0)  ->  out_0 = (1, 1)
 *                          (by q.k instead: {m1, m0}, another row).
 *         fitm.calibration  Found-in-the-Middle's attention calibration of one layer. Keys are [M prompt | L local]
 *                      (M = memory, Lk = M + Lq), query i local token i: every prompt key and local keys j <= i
 *                      visible; q and k as the layer uses them (no rotation here). Documents: K = len(doc_lengths),
 *                      document k = prompt keys [a_k, a_k + N_k), a_0 = doc_start, a_k+1 = a_k + N_k.
 *                      w [H*Lq, K]: row h*Lq + i = the dummy runs' attention Attn(dummy, k) for query i, head h.
 *                          p = softmax_j(q_i . k_j / sqrt(D)) over the visible keys,  A_k = mean of p over doc k,
 *                          alpha = softmax_k((A_k - w[h*Lq + i][k]) / t),  C = sum_k N_k A_k / sum_k alpha_k N_k,
 *                          p'_j = alpha_k / A_k * C * p_j (j in doc k), else p_j;   out[i][h] = sum_j p'_j v_j
 *                      M = 3, one query, docs [1, 2] from 0, t = 1, q = 0 (p = 1/4 each: A = (1/4, 1/4)):
 *                          keys   d0 | d1 d1 | t0        w = (1/4 - ln 3, 1/4): alpha = (3/4, 1/4), C = 3/5
 *                          p'   9/20 | 3/20 3/20 | 5/20  (document means 9/20 : 3/20 = alpha's 3 : 1; total 3/4 kept)
 *         longheads    one LongHeads layer's prefill; Lk == Lq (query i is token i), no "w"; q and k UNROTATED (RoPE
 *                      as focused_memory's). w = window_size, K = atten_length / w, B = begin_selective_length. Query
 *                      i < B: causal RoPE attention (i and j <= i at their index). Chunk g = tokens g w .. g w + w - 1;
 *                      its key c_g: the chunk's q and k rotated at t mod w, its non-causal self-attention averaged over
 *                      the chunk (m_g), c_g = sum_u softmax_u(m_g . ~k_u / sqrt(D)) ~k_u. Query i >= B, c = i / w,
 *                      r = i % w: chunks 0, c - 1, c and the K - 3 of 1 .. c - 2 with the largest q_i . c_g (UNROTATED
 *                      q; near ties judged against every admissible selection); in index order their keys, the own
 *                      chunk's first r only (token i's own key is NOT among them), rotated at 0, 1, 2, .., the query at
 *                      (K - 1) w + r; one softmax, scale 1/sqrt(D).
 *                      D = 2, w = 1 (c_g = k_g), K = 4, B = 3, five tokens, query 4 = (sqrt 2, 0):
 *                          chunks 0, 3, 4 forced; k_1 = (-1, 0), k_2 = ln 3 (cos 2, sin 2): q.k_2 > q.k_1, chunk 2;
 *                          keys k_0 = ln 2 (cos 3, sin 3), k_2, k_3 = 0 at 0, 1, 2, the query at 3: e^s = (2, 3, 1);
 *                          v = (3, 0), (0, 2), (0, 0)  ->  out_4 = (1, 1) (k_4 at 3 too, or keys at their token
 *                          index with the query at 4, give other rows).
 *         pine         one PINE layer over a prompt [P prefix | documents l_0 .. l_n-1 (N tokens) | suffix >= 1];
 *                      Lk = Lq (query i is token i), params prefix = P and lengths; no "w". q and k come UNROTATED.
 *                      A group (document g's queries, or one suffix query) orders the documents by position-free
 *                      weights: w_tu = softmax over document keys u of q_t . k_u / sqrt(D) (for document g: the
 *                      other documents' keys only), W_j = sum over the group's queries t of the mean of w_tu over
 *                      document j's tokens; document g first, then decreasing W_j (ties: any order, the harness
 *                      judges near ties against every admissible order; n <= 2 for a document: no weights needed).
 *                      Document j's token u then sits at P + N - l_j - shift_j + u (shift_j = the length ranked
 *                      before it: the first-ranked ends at P + N - 1); prefix and suffix tokens at their index.
 *                      Softmax attention with RoPE (half-split pairs, inv_freq[d] = base^(-2d/D)) at those positions,
 *                      scale 1/sqrt(D); a document query sees the prefix and document keys at positions <= its own
 *                      (every other document in full, its own causally); prefix and suffix queries j <= i.
 *                      D = 2, P = 0, lengths 1,1,1, Lq = 4 (token 3 the suffix), q_3 = (sqrt 2, 0):
 *                          k = (1, 0) (3, 0) (2, 0) (0, 0): W = (e, e^3, e^2)/Z: order 1, 2, 0 -> positions
 *                          doc 1 at 2, doc 2 at 1, doc 0 at 0; s_3j = k_j,x cos(3 - pos_j) = (cos 3, 3 cos 1,
 *                          2 cos 2, 0); v = (1, 0) (0, 1) (0, 0) (0, 0) -> out_3 = (e^cos 3, e^(3 cos 1)) / sum e^s
 *                          (the index order 0, 1, 2 would give (cos 3, 3 cos 2, 2 cos 1, 0): another row).
 *     The form needed no ABI change (PECS_ABI_MINOR stays): the enum value is appended after the others, no
 *     struct changed, and a backend that does not know the form declines its encodings by id in supports().
 *
 *   The learned-data tensor "w" holds what a model would load from its checkpoint; its layout per
 *   encoding is in the registry (`weights`) and in the encoding's reference file.
 *
 * Parameters
 *   problem->params holds EVERY parameter of the encoding's schema (registry), already validated, with
 *   defaults filled in, as typed key/value pairs; new encodings and new parameters never change the ABI.
 *
 * ---------------------------------------------------------------------------------------------------
 * Devices (ABI 1.1)
 *   A backend whose kernels run on an accelerator sets `device` (appended to pecs_backend in 1.1, so a
 *   1.0 plugin, whose struct_size stops before it, is a host backend and loads unchanged). The harness
 *   then owns every transfer, and times the kernel apart from them:
 *
 *     load      init(ctx, info)              once, in the process that makes the calls (the isolated worker
 *                                            when isolated): create the context and the ONE in-order queue
 *                                            (stream) every later call enqueues on; fill info (device, driver)
 *     per call  supports(ctx, p)             on the HOST problem, as for host backends (tensor data are host
 *                                            pointers; device_offset is NULL)
 *               alloc(ctx, bytes, &buf)      one device buffer per tensor (out aliases x when in_place):
 *                                            inputs get their bytes, the output its bytes framed by PAD
 *                                            canary bytes on each side (the host copy's gap canaries included)
 *               to_device(ctx, buf, off, src, n)  enqueue host -> device (blocking or not: sync() orders it)
 *               run(ctx, p_dev)              enqueue the kernel(s); p_dev is the problem with every tensor's
 *                                            data = its device buffer handle and p_dev->device_offset[i] =
 *                                            the byte offset of element 0 in it (PAD for the output, 0 else)
 *               sync(ctx)                    wait until everything enqueued has finished
 *               kernel_ns(ctx, &ns)          device time of the kernel(s) the last run() enqueued, from the
 *                                            queue's own events (transfers excluded); may be NULL: then only
 *                                            end-to-end time is reported
 *               to_host(ctx, dst, buf, off, n) copy back (the output's whole padded buffer), then sync()
 *               release(ctx, buf)            every buffer alloc() gave, even after a failure
 *     calibrate copy(ctx, dst, src, n, &ns)  a device-to-device copy of n bytes, timed on the device: the
 *                                            device's own bandwidth, the roofline a device kernel is judged
 *                                            against (may be NULL: no device roofline)
 *     unload    teardown(ctx)
 *
 *   The harness keeps the inputs, the reference and the verdict on the host. The output's device frame is
 *   checked after the copy back (a stray write beyond either end of the output fails the case, naming
 *   the device), then its middle is copied into the host output, whose own gap canaries are checked as
 *   for host backends. Results carry kernel-only time, end-to-end time (transfers + run + sync, the
 *   harness's clock) and the device's name, driver and calibrated bandwidth.
 *
 *     device buffer of the output     [ PAD canary | out bytes (gaps = host canaries) | PAD canary ]
 *                                                    ^ device_offset[out] = PAD
 *
 *   A buffer handle is whatever the runtime names a buffer by: a device pointer (CUDA, HIP, SYCL USM) or
 *   an object (an OpenCL cl_mem), passed as void *. Offsets are bytes and are always a multiple of 64.
 */
#ifndef PECS_BACKEND_H
#define PECS_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pecs/dtype.h"
#include "pecs/status.h"

#define PECS_ABI_MAJOR 1
#define PECS_ABI_MINOR 1
#define PECS_MAX_DIMS 4

typedef enum pecs_form {
    PECS_FORM_ROTATE,
    PECS_FORM_BIAS,
    PECS_FORM_EMBED,
    PECS_FORM_POSMAP,
    PECS_FORM_MASK,
    PECS_FORM_SCORES,
    PECS_FORM_KATTN,                /* appended (values above keep their numbers): see the table */
    PECS_FORM_COUNT_
} pecs_form;

typedef struct pecs_tensor {
    const char *name;               /* role, see the table above */
    pecs_dtype dtype;
    int32_t ndim;
    int64_t shape[PECS_MAX_DIMS];
    int64_t stride[PECS_MAX_DIMS];  /* elements */
    void *data;
} pecs_tensor;

typedef enum pecs_param_type {
    PECS_PARAM_INT,       /* value in .i */
    PECS_PARAM_REAL,      /* value in .r */
    PECS_PARAM_BOOL,      /* 0/1 in .i */
    PECS_PARAM_CHOICE,    /* one of the schema's choices, in .s */
    PECS_PARAM_REAL_LIST  /* .list[0 .. .n-1]; .n may be 0 (absent) */
} pecs_param_type;

typedef struct pecs_param {
    const char *name;
    pecs_param_type type;
    int64_t i;
    double r;
    const char *s;
    const double *list;
    int64_t n;
} pecs_param;

typedef struct pecs_problem {
    uint32_t struct_size;
    const char *encoding;           /* canonical id, e.g. "rope.yarn" */
    pecs_form form;
    pecs_dtype dtype;               /* storage dtype of activations and outputs */
    const pecs_param *params;
    int32_t n_params;
    const pecs_tensor *tensors;
    int32_t n_tensors;
    int32_t in_place;               /* 1: "out" aliases "x" */
    int32_t n_threads;              /* requested threads; 0 = backend's choice */
    /* 1.1: device backends only (see Devices): NULL for host calls and in supports(); else one byte offset
     * per tensor, tensors[i].data being a device buffer handle. Read it only if struct_size covers it. */
    const int64_t *device_offset;
} pecs_problem;

typedef struct pecs_host {
    uint32_t struct_size;
    uint32_t abi_major, abi_minor;
    void (*log)(void *host_ctx, const char *backend, const char *message); /* may be called anywhere */
    void *host_ctx;
} pecs_host;

#define PECS_DEVICE_PAD 4096         /* canary bytes each side of a device output buffer */

typedef struct pecs_device_info {
    uint32_t struct_size;           /* set by the harness */
    char name[128];                 /* e.g. "NVIDIA H100 80GB HBM3", "pthread-skylake-avx512" */
    char driver[128];               /* runtime and driver versions, e.g. "OpenCL 3.0 PoCL 3.1; driver 3.1" */
    char error[256];                /* init() failed: why, in one line (e.g. "no OpenCL device") */
} pecs_device_info;

typedef struct pecs_device_ops {
    uint32_t struct_size;           /* sizeof(pecs_device_ops) the plugin was built with */
    pecs_status (*init)(void *ctx, pecs_device_info *info);
    void (*teardown)(void *ctx);
    pecs_status (*alloc)(void *ctx, size_t bytes, void **buf);
    void (*release)(void *ctx, void *buf);
    pecs_status (*to_device)(void *ctx, void *buf, size_t offset, const void *src, size_t bytes);
    pecs_status (*to_host)(void *ctx, void *dst, void *buf, size_t offset, size_t bytes);
    pecs_status (*sync)(void *ctx);
    pecs_status (*kernel_ns)(void *ctx, double *ns);                       /* may be NULL */
    pecs_status (*copy)(void *ctx, void *dst, void *src, size_t bytes, double *ns); /* may be NULL */
} pecs_device_ops;

typedef struct pecs_backend {
    uint32_t abi_major;             /* must be first: PECS_ABI_MAJOR the plugin was built with */
    uint32_t struct_size;           /* sizeof(pecs_backend) the plugin was built with */
    uint32_t abi_minor;
    const char *name;               /* short id, e.g. "scalar" */
    const char *version;
    const char *description;
    void *ctx;                      /* passed back to every call */
    int (*supports)(void *ctx, const pecs_problem *p, char *reason, size_t reason_size);
    pecs_status (*run)(void *ctx, const pecs_problem *p);
    const char *(*isa)(void *ctx);  /* the instruction set actually used; may be NULL */
    /* 1.1 (read only when struct_size covers it): NULL for a host backend; see Devices. */
    const pecs_device_ops *device;
} pecs_backend;

typedef const pecs_backend *(*pecs_backend_entry_fn)(uint32_t host_abi_major, const pecs_host *host);
#define PECS_BACKEND_ENTRY_SYMBOL "pecs_backend_entry"

/* In-tree backends are compiled twice: into the pecs binary (PECS_BUILTIN defined, entry point named
 * pecs_builtin_entry_<name>) and as a plugin (entry point pecs_backend_entry). */
#ifdef PECS_BUILTIN
#define PECS_BACKEND_ENTRY(name) \
    const pecs_backend *pecs_builtin_entry_##name(uint32_t host_abi_major, const pecs_host *host)
#else
#define PECS_BACKEND_ENTRY(name) \
    __attribute__((visibility("default"))) const pecs_backend *pecs_backend_entry(uint32_t host_abi_major, \
                                                                                  const pecs_host *host)
#endif

/* ---- header-only helpers for backends ------------------------------------------------------------- */

static inline const pecs_tensor *pecs_problem_tensor(const pecs_problem *p, const char *name)
{
    for (int32_t i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return &p->tensors[i];
    return NULL;
}

static inline const pecs_param *pecs_problem_param(const pecs_problem *p, const char *name)
{
    for (int32_t i = 0; i < p->n_params; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return &p->params[i];
    return NULL;
}

static inline double pecs_param_real(const pecs_problem *p, const char *name, double dflt)
{
    const pecs_param *q = pecs_problem_param(p, name);
    if (!q) return dflt;
    return q->type == PECS_PARAM_REAL ? q->r : (double)q->i;
}

static inline int64_t pecs_param_int(const pecs_problem *p, const char *name, int64_t dflt)
{
    const pecs_param *q = pecs_problem_param(p, name);
    return q ? q->i : dflt;
}

/* 1 if the choice parameter `name` equals `value`. */
static inline int pecs_param_is(const pecs_problem *p, const char *name, const char *value)
{
    const pecs_param *q = pecs_problem_param(p, name);
    return q && q->s && strcmp(q->s, value) == 0;
}

/* Position of token t on axis row `row` as a double (exact for integers below 2^53). */
static inline double pecs_pos_at(const pecs_tensor *pos, int64_t row, int64_t t)
{
    int64_t off = row * pos->stride[0] + t * pos->stride[pos->ndim - 1];
    return pecs_load_f64(pos->data, pos->dtype, off);
}

/* Current sequence length for length-dependent schedules: the parameter seq_len when > 0, else
 * max(pos[0][t]) + 1 over this call's positions (HF passes max(position_ids) + 1); 0 without positions. */
static inline double pecs_problem_seq_len(const pecs_problem *p)
{
    const pecs_param *q = pecs_problem_param(p, "seq_len");
    if (q && q->i > 0)
        return (double)q->i;
    const pecs_tensor *pos = pecs_problem_tensor(p, "pos");
    double m = -1.0;
    for (int64_t t = 0; pos && t < pos->shape[pos->ndim - 1]; t++) {
        double v = pecs_pos_at(pos, 0, t);
        m = v > m ? v : m;
    }
    return m + 1.0;
}

#endif
