using System.Text;
using MLNet.SuperResolution.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>
/// One file with everything needed to continue a run exactly: weights, Adam's state, the weight average, the best
/// weights, counters and history (the schedule and the sampler are functions of the step), and in adversarial training
/// the discriminator's weights (running statistics included) and its Adam's state, in a section after the generator's
/// (a checkpoint without adversarial training is the same file as before). Written to a temporary file and renamed, so
/// a crash leaves the previous checkpoint intact.
/// </summary>
internal static class TrainingCheckpoint
{
    private const string Magic = "MLNet.SuperResolution checkpoint 1";

    /// <summary>Starts the discriminator's section, after the generator's optimiser state.</summary>
    private const string DiscriminatorMagic = "SRGAN discriminator";

    public static void Save(string path, nn.Module network, TorchSharp.Modules.OptimizerHelper optimizer, WeightAverage? average, TrainingState state,
        nn.Module? discriminator = null, TorchSharp.Modules.OptimizerHelper? discriminatorOptimizer = null)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8);
            writer.Write(Magic);
            writer.Write(Fingerprint(network));
            writer.Write(state.Step);
            writer.Write(state.Skipped);
            writer.Write(state.EpochSum);
            writer.Write(state.EpochFinite);
            writer.Write(state.Seconds);
            writer.Write(state.ValidationsSinceBest);
            writer.Write(state.EpochLosses.Count);
            foreach (double loss in state.EpochLosses)
                writer.Write(loss);
            writer.Write(state.Validations.Count);
            foreach (var validation in state.Validations)
            {
                writer.Write(validation.Epoch);
                writer.Write(validation.Step);
                writer.Write(validation.Psnr);
            }

            WriteTensors(writer, network.state_dict().Values.ToArray());
            WriteTensors(writer, average?.Average);
            WriteTensors(writer, state.BestWeights);
            using (NewDisposeScope())
                optimizer.save_state_dict(writer);
            if (discriminator is not null)
            {
                writer.Write(DiscriminatorMagic);
                writer.Write(Fingerprint(discriminator));
                WriteTensors(writer, discriminator.state_dict().Values.ToArray());
                using (NewDisposeScope())
                    discriminatorOptimizer!.save_state_dict(writer);
            }
        });
    }

    public static void Load(string path, nn.Module network, TorchSharp.Modules.OptimizerHelper optimizer, WeightAverage? average, TrainingState state,
        nn.Module? discriminator = null, TorchSharp.Modules.OptimizerHelper? discriminatorOptimizer = null)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        string magic = reader.ReadString();
        if (magic != Magic)
            throw new InvalidDataException($"'{path}' is not a training checkpoint of this version of MLNet.SuperResolution; delete it or choose another CheckpointDirectory.");
        string fingerprint = reader.ReadString();
        if (fingerprint != Fingerprint(network))
            throw new InvalidOperationException(
                $"The checkpoint '{path}' was written for another network ({fingerprint.Split('|')[0]}, different layers or shapes) than this run's " +
                $"({Fingerprint(network).Split('|')[0]}); resume with the options it was trained with, or use an empty CheckpointDirectory.");
        state.Step = reader.ReadInt32();
        state.Skipped = reader.ReadInt32();
        state.EpochSum = reader.ReadDouble();
        state.EpochFinite = reader.ReadInt32();
        state.Seconds = reader.ReadDouble();
        state.ValidationsSinceBest = reader.ReadInt32();
        int epochs = reader.ReadInt32();
        for (int i = 0; i < epochs; i++)
            state.EpochLosses.Add(reader.ReadDouble());
        int validations = reader.ReadInt32();
        for (int i = 0; i < validations; i++)
            state.Validations.Add(new SrValidationResult(reader.ReadInt32(), reader.ReadInt32(), reader.ReadDouble()));

        var weights = ReadTensors(reader) ?? throw new InvalidDataException($"The checkpoint '{path}' has no weights.");
        WeightAverage.Restore(network, weights);
        Dispose(weights);
        var averaged = ReadTensors(reader);
        if (average is not null && averaged is not null)
            WeightAverage.Restore(average.Average, averaged);
        else if ((average is null) != (averaged is null))
            throw new InvalidOperationException($"The checkpoint '{path}' was written with EmaDecay {(averaged is null ? "off" : "on")}; resume with the same EmaDecay setting.");
        Dispose(averaged);
        state.BestWeights = ReadTensors(reader);
        try
        {
            optimizer.load_state_dict(reader);
        }
        catch (ArgumentException e)
        {
            // TorchSharp's "different number of parameter groups": the checkpoint predates a change of the network's
            // training recipe (such as FSRCNN's tail getting its own learning rate).
            throw new InvalidOperationException(
                $"The checkpoint '{path}' holds optimiser state that does not fit this run's ({e.Message}): it was written by a version " +
                "of MLNet.SuperResolution that grouped the network's parameters differently. Start again with an empty CheckpointDirectory.", e);
        }

        bool hasDiscriminator = stream.Position < stream.Length;
        if (hasDiscriminator != (discriminator is not null))
            throw new InvalidOperationException(
                $"The checkpoint '{path}' was written {(hasDiscriminator ? "with" : "without")} adversarial training (AdversarialLossWeight " +
                $"{(hasDiscriminator ? "set" : "null")}); resume with the same setting, or use an empty CheckpointDirectory.");
        if (discriminator is null)
            return;
        if (reader.ReadString() != DiscriminatorMagic)
            throw new InvalidDataException($"The checkpoint '{path}' is damaged after the generator's state; delete it or choose another CheckpointDirectory.");
        string discriminatorFingerprint = reader.ReadString();
        if (discriminatorFingerprint != Fingerprint(discriminator))
            throw new InvalidOperationException(
                $"The checkpoint '{path}' holds a discriminator of other layers or shapes than this run's (DiscriminatorWidth, PatchSize or Channels " +
                "differ); resume with the options it was trained with, or use an empty CheckpointDirectory.");
        var discriminatorWeights = ReadTensors(reader) ?? throw new InvalidDataException($"The checkpoint '{path}' has no discriminator weights.");
        WeightAverage.Restore(discriminator, discriminatorWeights);
        Dispose(discriminatorWeights);
        discriminatorOptimizer!.load_state_dict(reader);
    }

    /// <summary>The network type and every state_dict entry's name and shape.</summary>
    private static string Fingerprint(nn.Module network)
        => network.GetType().Name + "|" + string.Join(";", network.state_dict().Select(e => $"{e.Key}[{string.Join("x", e.Value.shape)}]"));

    private static void WriteTensors(BinaryWriter writer, IReadOnlyList<Tensor>? tensors)
    {
        writer.Write(tensors?.Count ?? -1);
        foreach (var tensor in tensors ?? Array.Empty<Tensor>())
        {
            using var scope = NewDisposeScope(); // the detached, CPU and contiguous views
            var cpu = tensor.detach().cpu().contiguous();
            writer.Write((int)cpu.dtype);
            writer.Write(cpu.ndim);
            foreach (long size in cpu.shape)
                writer.Write(size);
            var bytes = cpu.bytes;
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }
    }

    private static Tensor[]? ReadTensors(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count < 0)
            return null;
        var tensors = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            var type = (ScalarType)reader.ReadInt32();
            var shape = new long[reader.ReadInt64()];
            for (int d = 0; d < shape.Length; d++)
                shape[d] = reader.ReadInt64();
            var bytes = reader.ReadBytes(reader.ReadInt32());
            tensors[i] = empty(shape, type);
            tensors[i].bytes = bytes;
        }

        return tensors;
    }

    private static void Dispose(Tensor[]? tensors)
    {
        foreach (var tensor in tensors ?? Array.Empty<Tensor>())
            tensor.Dispose();
    }
}
