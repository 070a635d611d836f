/* impls/torch/torch_backend.h — internals of the libtorch backend (C++17, built only as a plugin).
 *
 * The kernels are torch tensor programs written the way PyTorch model code computes them (HF transformers'
 * modeling_rope_utils schedules and rotary application, Meta's complex-pair RoPE, BLOOM's ALiBi slopes,
 * T5's relative buckets): pecs's buffers are wrapped with torch::from_blob (shapes and strides in
 * elements, as pecs gives them), the result is computed into fresh tensors and copied into "out" through
 * a view with out's strides, so only out's logical elements are written.
 *
 * Everything here may throw (c10::Error, std::bad_alloc): backend.cpp catches at the C ABI boundary.
 */
#ifndef PECS_TORCH_BACKEND_H
#define PECS_TORCH_BACKEND_H

#include <string>

#include <torch/types.h>

#include "pecs/backend.h"

namespace pecs_torch {

/* A view of a pecs tensor (no copy, no ownership). */
torch::Tensor wrap(const pecs_tensor *t);

/* The torch dtype of a pecs storage dtype (F64 too; callers decline what they do not compute). */
torch::ScalarType scalar_type(pecs_dtype d);

/* Rotate form. rope_check() returns "" when rope_run() computes the problem, else the one-line reason;
 * it reads parameters and, when present, the tensors' dtypes and strides. */
std::string rope_check(const pecs_problem *p);
pecs_status rope_run(const pecs_problem *p);

/* Bias form: alibi and t5. */
std::string bias_check(const pecs_problem *p);
pecs_status bias_run(const pecs_problem *p);

/* Checks shared by both forms. */
std::string positions_check(const pecs_tensor *pos, const char *name);
std::string strides_check(const pecs_tensor *t);

} // namespace pecs_torch

#endif
