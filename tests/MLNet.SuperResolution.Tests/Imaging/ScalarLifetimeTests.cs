using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>
/// TorchSharp 0.107 frees a <c>Scalar</c> in its finalizer and does not keep the one it passes to libtorch alive
/// (<c>THSTensor_mul_scalar(Handle, target.Handle)</c>): a temporary from an implicit conversion (<c>x.mul(0.5)</c>) can
/// be finalized while libtorch still reads it (a probe with a thread running GC.Collect: "Expected false to be true"
/// from c10::Scalar::toDouble after 12,000-39,000 such calls, inside dispose scopes too; none in 3.5 million with the
/// Scalar in a disposed local). The race is too rare to catch in a short test, so this one checks the IL: the library
/// holds every Scalar in a disposed local (<c>using var s = value.ToScalar()</c>) and never converts implicitly.
/// </summary>
public sealed class ScalarLifetimeTests
{
    /// <summary>Calls that make temporary Scalars (<see cref="MakesATemporaryScalar"/>) in an assembly's IL, by method.</summary>
    private static List<string> ImplicitScalarConversions(Assembly assembly)
    {
        var operandSizes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => (ushort)o.Value, o => o.OperandType);
        var found = new List<string>();
        using var pe = new PEReader(File.OpenRead(assembly.Location));
        var reader = pe.GetMetadataReader();
        foreach (var typeHandle in reader.TypeDefinitions)
        {
            var type = reader.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = reader.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0)
                    continue;
                var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes()!;
                for (int i = 0; i < il.Length;)
                {
                    ushort code = il[i] == 0xFE ? (ushort)(0xFE00 | il[i + 1]) : il[i];
                    i += il[i] == 0xFE ? 2 : 1;
                    var operand = operandSizes[code];
                    if (operand == OperandType.InlineMethod)
                    {
                        var handle = MetadataTokens.EntityHandle(BitConverter.ToInt32(il, i));
                        if (handle.Kind == HandleKind.MemberReference)
                        {
                            var member = reader.GetMemberReference((MemberReferenceHandle)handle);
                            if (member.Parent.Kind == HandleKind.TypeReference && MakesATemporaryScalar(reader, member))
                                found.Add($"{reader.GetString(type.Name)}.{reader.GetString(method.Name)}");
                        }
                    }

                    i += operand switch
                    {
                        OperandType.InlineNone => 0,
                        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                        OperandType.InlineVar => 2,
                        OperandType.InlineI8 or OperandType.InlineR => 8,
                        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                        _ => 4,
                    };
                }
            }
        }

        return found;
    }

    /// <summary>
    /// A call that makes a temporary Scalar: <c>Scalar.op_Implicit</c> itself, or a TorchSharp overload that makes one
    /// inside (measured: each left a finalizable object per call): <c>Tensor.add</c> / <c>add_</c> without <c>alpha</c>
    /// (they pass an implicit 1), the <c>+</c> and <c>-</c> operators on tensors, <c>nn.functional.leaky_relu</c> (a
    /// double slope) and <c>nn.LeakyReLU</c>, and <c>softplus</c> (beta and threshold) with the <c>mish</c> and
    /// <c>nn.Mish</c> built on it. The library uses <c>ScalarSafe</c>, <c>LeakyRelu</c> and <c>MishActivation</c> instead.
    /// </summary>
    private static bool MakesATemporaryScalar(MetadataReader reader, MemberReference member)
    {
        var parent = reader.GetTypeReference((TypeReferenceHandle)member.Parent);
        string name = reader.GetString(member.Name), parentName = reader.GetString(parent.Name);
        string scope = parent.ResolutionScope.Kind == HandleKind.TypeReference
            ? reader.GetString(reader.GetTypeReference((TypeReferenceHandle)parent.ResolutionScope).Name) + "." + parentName
            : reader.GetString(parent.Namespace) + "." + parentName;
        return (scope, name) switch
        {
            ("TorchSharp.Scalar", "op_Implicit") => true,
            ("torch.Tensor", "add" or "add_") => ParameterCount(reader, member) == 1,
            ("torch.Tensor", "op_Addition" or "op_Subtraction") => true,
            ("nn.functional", "leaky_relu") => true,
            ("torch.nn", "LeakyReLU") => true,
            ("torch.Tensor", "softplus") => true,
            ("nn.functional", "softplus" or "mish") => true,
            ("torch.nn", "Mish") => true,
            _ => false,
        };
    }

    private static int ParameterCount(MetadataReader reader, MemberReference member)
    {
        var blob = reader.GetBlobReader(member.Signature);
        var header = blob.ReadSignatureHeader();
        if (header.IsGeneric)
            blob.ReadCompressedInteger();
        return blob.ReadCompressedInteger();
    }

    [Fact]
    public void TheLibraryAndTheToolMakeNoTemporaryScalars()
    {
        var found = ImplicitScalarConversions(typeof(SuperResolutionTransformer).Assembly)
            .Concat(ImplicitScalarConversions(Assembly.Load("sr"))).ToList();
        Assert.True(found.Count == 0,
            "Implicit conversions to TorchSharp.Scalar (temporaries the GC may finalize during the native call) in: " +
            string.Join(", ", found.Distinct()) + ". Hold the Scalar in a disposed local: using var s = value.ToScalar();");

        // Control: the scan sees them where they are.
        var controls = ImplicitScalarConversions(typeof(ScalarLifetimeTests).Assembly);
        Assert.Contains(controls, m => m.EndsWith(".WithATemporaryScalar", StringComparison.Ordinal));
        Assert.Contains(controls, m => m.EndsWith(".WithAnImplicitAlpha", StringComparison.Ordinal));
        Assert.Contains(controls, m => m.EndsWith(".WithAnOperator", StringComparison.Ordinal));
        Assert.Contains(controls, m => m.EndsWith(".WithADoubleSlope", StringComparison.Ordinal));
        Assert.Contains(controls, m => m.EndsWith(".WithALeakyReluModule", StringComparison.Ordinal));
        Assert.Contains(controls, m => m.EndsWith(".WithAMish", StringComparison.Ordinal));
        Assert.Contains(controls, m => m.EndsWith(".WithAMishModule", StringComparison.Ordinal));
        Assert.DoesNotContain(controls, m => m.EndsWith(".WithExplicitScalars", StringComparison.Ordinal));
    }

    private static Tensor WithATemporaryScalar(Tensor x) => x.mul(0.5);

    private static Tensor WithAnImplicitAlpha(Tensor x) => x.add_(x);

    private static Tensor WithAnOperator(Tensor x) => x + x;

    private static Tensor WithADoubleSlope(Tensor x) => nn.functional.leaky_relu(x, 0.2);

    private static nn.Module<Tensor, Tensor> WithALeakyReluModule() => nn.LeakyReLU(0.2);

    private static Tensor WithAMish(Tensor x) => nn.functional.mish(x);

    private static nn.Module<Tensor, Tensor> WithAMishModule() => nn.Mish();

    private static Tensor WithExplicitScalars(Tensor x, TorchSharp.Scalar alpha) => x.add(x, alpha).leaky_relu(alpha);
}
