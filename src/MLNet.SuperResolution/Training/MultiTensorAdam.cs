using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>
/// Optimisers that update many parameter tensors with one set of kernels. The class is named <c>Adam</c> (nested here)
/// because TorchSharp's <c>save_state_dict</c> records an optimiser's type name and <c>load_state_dict</c> refuses
/// another: training checkpoints written with TorchSharp's <c>Adam</c> and with this one load into either.
/// </summary>
internal static class MultiTensor
{
    /// <summary>
    /// Adam (Kingma and Ba; no weight decay, no AMSGrad) that updates its moment estimates with one set of element-wise
    /// kernels per segment of parameters instead of one per parameter, as PyTorch's default <c>foreach</c> Adam does on
    /// a GPU. TorchSharp's <see cref="TorchSharp.Modules.Adam"/> launches about eight kernels per parameter tensor: on a
    /// GPU a training step of a small network waits on those launches (EDSR-baseline's Adam step took 5.2 ms against
    /// PyTorch's 1.2 ms on an H200; docs/performance.md, "On a GPU").
    /// </summary>
    /// <remarks>
    /// <para>The moments live in flat buffers, one per segment of consecutive parameters of a group (at most
    /// <see cref="DefaultSegmentElements"/> elements each, so that the step's temporaries stay small), and each
    /// parameter's <see cref="TorchSharp.Modules.Adam.State"/> holds views of them: <c>save_state_dict</c> and
    /// <c>load_state_dict(BinaryReader)</c> (which loads in place) keep working, and checkpoints are those of
    /// <see cref="TorchSharp.Modules.Adam"/>. A step concatenates each segment's gradients, updates both moments and the
    /// denominator on the flat buffers, then applies <c>param.addcdiv_(exp_avg, denom, -step_size)</c> per parameter: the
    /// same element-wise operations, in the same order, as <see cref="TorchSharp.Modules.Adam.step"/>, so the weights
    /// are the same to the bit (<c>MultiTensorAdamTests</c>).</para>
    /// <para>It falls back to <see cref="TorchSharp.Modules.Adam.step"/> for a step where a parameter has no gradient,
    /// where the parameters' step counts differ, or where a state's tensors were replaced
    /// (<c>load_state_dict(StateDictionary)</c>): the views are rebuilt from the states after it. Every
    /// <see cref="Scalar"/> is an explicit, disposed local (docs/implementation-notes.md, "TorchSharp Scalars").</para>
    /// </remarks>
    internal sealed class Adam : TorchSharp.Modules.Adam
    {
        /// <summary>The default largest flat segment, in elements (a parameter larger than this is a segment of its own).</summary>
        internal const long DefaultSegmentElements = 1L << 22;

        private readonly List<Segment> _segments = [];

        /// <summary>One group, all <paramref name="parameters"/> at rate <paramref name="learningRate"/>.</summary>
        public Adam(IEnumerable<Parameter> parameters, double learningRate, double beta1, double beta2, double eps = 1e-8,
            long segmentElements = DefaultSegmentElements)
            : base(parameters, learningRate, beta1, beta2, eps)
            => BuildSegments(segmentElements);

        /// <summary>Several groups, each with its own options (weight decay, AMSGrad and maximize must be off).</summary>
        public Adam(IEnumerable<ParamGroup> groups, double learningRate, double beta1, double beta2, double eps = 1e-8,
            long segmentElements = DefaultSegmentElements)
            : base(groups, learningRate, beta1, beta2, eps)
            => BuildSegments(segmentElements);

        /// <summary>The flat segments (for tests).</summary>
        internal int SegmentCount => _segments.Count;

        /// <summary>Steps taken by the flat path and by the per-parameter fallback (for tests).</summary>
        internal (int Flat, int Fallback) StepCounts { get; private set; }

        /// <summary>
        /// Clears the gradients: on the CPU zeroed in place (as TorchSharp's optimisers do), elsewhere set to none (as
        /// PyTorch's <c>zero_grad()</c> does by default): backward then writes fresh gradients from the device's caching
        /// allocator, and no zeroing kernel is launched per parameter.
        /// </summary>
        public override void zero_grad()
        {
            foreach (var segment in _segments)
            {
                bool setToNone = segment.ExpAvg.device_type != DeviceType.CPU;
                foreach (var parameter in segment.Parameters)
                {
                    using var gradient = parameter.grad;
                    if (gradient is null)
                        continue;
                    if (setToNone)
                        parameter.grad = null;
                    else
                        gradient.fill_(ScalarSafe.Constant(0)); // zero_() left a finalizable object behind per call
                }
            }
        }

        /// <inheritdoc />
        public override Tensor step(Func<Tensor>? closure = null)
        {
            if (!CanStepFlat())
            {
                StepCounts = (StepCounts.Flat, StepCounts.Fallback + 1);
                var loss = base.step(closure);
                RebuildViewsIfReplaced();
                return loss;
            }

            Tensor? result = null;
            if (closure is not null)
            {
                using (enable_grad())
                    result = closure();
            }

            using (no_grad())
            using (NewDisposeScope())
            {
                foreach (var segment in _segments)
                    StepSegment(segment);
            }

            StepCounts = (StepCounts.Flat + 1, StepCounts.Fallback);
            return result!;
        }

        /// <summary>Every parameter has a gradient, the states still hold the segments' views, and all step counts agree.</summary>
        private bool CanStepFlat()
        {
            long? steps = null;
            foreach (var segment in _segments)
            {
                for (int i = 0; i < segment.Parameters.Length; i++)
                {
                    var state = segment.States[i];
                    using var gradient = segment.Parameters[i].grad;
                    if (gradient is null
                        || !ReferenceEquals(state.exp_avg, segment.ExpAvgViews[i]) || !ReferenceEquals(state.exp_avg_sq, segment.ExpAvgSqViews[i])
                        || state.max_exp_avg_sq is not null)
                        return false;
                    steps ??= state.step;
                    if (state.step != steps)
                        return false;
                }
            }

            return true;
        }

        private void StepSegment(Segment segment)
        {
            var options = (Options)segment.Group.Options;
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, eps = options.eps!.Value, rate = options.LearningRate!.Value;
            foreach (var state in segment.States)
                state.step++;
            long step = segment.States[0].step;
            double biasCorrection1 = 1 - Math.Pow(beta1, step), biasCorrection2 = 1 - Math.Pow(beta2, step);

            var gradients = new Tensor[segment.Parameters.Length];
            for (int i = 0; i < gradients.Length; i++)
                gradients[i] = segment.Parameters[i].grad!.reshape(-1);
            var gradient = gradients.Length == 1 ? gradients[0] : cat(gradients, 0);

            using var beta1Scalar = beta1.ToScalar();
            using var oneMinusBeta1 = (1 - beta1).ToScalar();
            using var beta2Scalar = beta2.ToScalar();
            using var oneMinusBeta2 = (1 - beta2).ToScalar();
            using var correction2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var epsScalar = eps.ToScalar();
            using var stepSize = (-rate / biasCorrection1).ToScalar();
            segment.ExpAvg.mul_(beta1Scalar).add_(gradient, oneMinusBeta1);
            segment.ExpAvgSq.mul_(beta2Scalar).addcmul_(gradient, gradient, oneMinusBeta2);
            var denominator = segment.ExpAvgSq.sqrt().div_(correction2).PlusInPlace(epsScalar);
            for (int i = 0; i < segment.Parameters.Length; i++)
            {
                using var denominatorView = denominator.narrow(0, segment.Offsets[i], segment.ExpAvgViews[i].numel()).view(segment.Parameters[i].shape);
                segment.Parameters[i].addcdiv_(segment.ExpAvgViews[i], denominatorView, stepSize);
            }
        }

        /// <summary>Splits every group into flat segments and points each state's moments at views of them.</summary>
        private void BuildSegments(long segmentElements)
        {
            foreach (var group in _parameter_groups)
            {
                var options = (Options)group.Options;
                if (options.weight_decay is not (null or 0.0) || options.amsgrad == true || options.maximize == true)
                    throw new ArgumentException("MultiTensor.Adam takes no weight decay, AMSGrad or maximize; use torch.optim.Adam for those.");
                var pending = new List<Parameter>();
                long elements = 0;
                foreach (var parameter in group.Parameters)
                {
                    long count = parameter.numel();
                    bool compatible = pending.Count == 0 || (pending[0].device_type == parameter.device_type
                        && pending[0].device_index == parameter.device_index && pending[0].dtype == parameter.dtype);
                    if (pending.Count > 0 && (!compatible || elements + count > segmentElements))
                    {
                        _segments.Add(new Segment(group, pending.ToArray(), this));
                        pending.Clear();
                        elements = 0;
                    }

                    pending.Add(parameter);
                    elements += count;
                }

                if (pending.Count > 0)
                    _segments.Add(new Segment(group, pending.ToArray(), this));
            }
        }

        /// <summary>After a fallback step: states whose tensors were replaced get their values copied into the segments again.</summary>
        private void RebuildViewsIfReplaced()
        {
            foreach (var segment in _segments)
                segment.AdoptStates(this);
        }

        private State StateOf(Parameter parameter) => (State)_state[parameter.Handle];

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing); // disposes the states' views
            if (disposing)
            {
                foreach (var segment in _segments)
                    segment.Dispose();
            }
        }

        /// <summary>Consecutive parameters of one group, one device and one dtype, with their moments in two flat buffers.</summary>
        private sealed class Segment : IDisposable
        {
            public Segment(TorchSharp.Modules.ParamGroup group, Parameter[] parameters, Adam owner)
            {
                Group = group;
                Parameters = parameters;
                Offsets = new long[parameters.Length];
                long total = 0;
                for (int i = 0; i < parameters.Length; i++)
                {
                    Offsets[i] = total;
                    total += parameters[i].numel();
                }

                ExpAvg = zeros(total, parameters[0].dtype, parameters[0].device);
                ExpAvgSq = zeros(total, parameters[0].dtype, parameters[0].device);
                States = [];
                ExpAvgViews = new Tensor[parameters.Length];
                ExpAvgSqViews = new Tensor[parameters.Length];
                AdoptStates(owner, force: true);
            }

            public TorchSharp.Modules.ParamGroup Group { get; }

            public Parameter[] Parameters { get; }

            public long[] Offsets { get; }

            public Tensor ExpAvg { get; }

            public Tensor ExpAvgSq { get; }

            public State[] States { get; private set; }

            public Tensor[] ExpAvgViews { get; }

            public Tensor[] ExpAvgSqViews { get; }

            /// <summary>
            /// For each state whose moments are not this segment's views (all of them when <paramref name="force"/>): copies
            /// its values into the flat buffers and gives it views instead, disposing the tensors it held.
            /// </summary>
            public void AdoptStates(Adam owner, bool force = false)
            {
                States = Parameters.Select(owner.StateOf).ToArray();
                using var scope = NewDisposeScope();
                for (int i = 0; i < Parameters.Length; i++)
                {
                    var state = States[i];
                    if (!force && ReferenceEquals(state.exp_avg, ExpAvgViews[i]) && ReferenceEquals(state.exp_avg_sq, ExpAvgSqViews[i]))
                        continue;
                    long count = Parameters[i].numel();
                    var expAvg = ExpAvg.narrow(0, Offsets[i], count).view(Parameters[i].shape).DetachFromDisposeScope();
                    var expAvgSq = ExpAvgSq.narrow(0, Offsets[i], count).view(Parameters[i].shape).DetachFromDisposeScope();
                    using (no_grad())
                    {
                        expAvg.copy_(state.exp_avg);
                        expAvgSq.copy_(state.exp_avg_sq);
                    }

                    if (!ReferenceEquals(state.exp_avg, ExpAvgViews[i]))
                        state.exp_avg.Dispose();
                    if (!ReferenceEquals(state.exp_avg_sq, ExpAvgSqViews[i]))
                        state.exp_avg_sq.Dispose();
                    state.exp_avg = expAvg;
                    state.exp_avg_sq = expAvgSq;
                    ExpAvgViews[i] = expAvg;
                    ExpAvgSqViews[i] = expAvgSq;
                }
            }

            public void Dispose()
            {
                ExpAvg.Dispose();
                ExpAvgSq.Dispose();
            }
        }
    }
}
