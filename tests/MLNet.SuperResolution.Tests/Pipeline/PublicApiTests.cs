using System.Reflection;
using System.Text;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// The library's public surface is what src/MLNet.SuperResolution/PublicApi.txt lists, no more: a change to it is a
/// decision made in a commit (update the file), not a side effect of compiling against ML.NET's publicized internals.
/// </summary>
public sealed class PublicApiTests(ITestOutputHelper output)
{
    private static string ListingPath => Path.Combine(SharedData.RepositoryRoot, "src", "MLNet.SuperResolution", "PublicApi.txt");

    [Fact]
    public void ThePublicSurface_IsTheListedOne()
    {
        string actual = PublicApi.Describe(typeof(SrModelZoo).Assembly);
        string expected = File.Exists(ListingPath) ? File.ReadAllText(ListingPath).ReplaceLineEndings("\n") : "";
        if (actual == expected)
            return;

        string written = Path.Combine(Path.GetTempPath(), "PublicApi.actual.txt");
        File.WriteAllText(written, actual);
        var expectedLines = expected.Split('\n').ToHashSet();
        var actualLines = actual.Split('\n').ToHashSet();
        var added = actualLines.Except(expectedLines).ToList();
        var removed = expectedLines.Except(actualLines).ToList();
        output.WriteLine(actual);
        Assert.Fail($"The public API changed. Added ({added.Count}):\n  {string.Join("\n  ", added.Take(40))}\nRemoved ({removed.Count}):\n  " +
            $"{string.Join("\n  ", removed.Take(40))}\nIf intended, copy {written} to src/MLNet.SuperResolution/PublicApi.txt.");
    }

    /// <summary>No public or protected member of ours shows a type that ML.NET keeps internal (the real assembly's view).</summary>
    [Fact]
    public void NoPublicSignature_UsesAnMLNetInternalType()
    {
        var leaks = new List<string>();
        foreach (var (member, type) in PublicApi.SignatureTypes(typeof(SrModelZoo).Assembly))
        {
            if (type.Assembly.GetName().Name is { } name && name.StartsWith("Microsoft.ML", StringComparison.Ordinal) && !IsVisibleOutside(type))
                leaks.Add($"{member}: {type.FullName}");
        }

        Assert.True(leaks.Count == 0, "ML.NET internals in our public surface:\n" + string.Join("\n", leaks));
    }

    [Fact]
    public void TheMembersMLNetMeansForDerivedClasses_StayProtected()
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        foreach (var type in new[] { typeof(SuperResolutionTransformer), typeof(DownscaleImagesTransformer) })
        {
            foreach (string name in new[] { "SaveModel", "MakeRowMapper", "CheckInputColumn" })
            {
                var method = type.GetMethods(all).FirstOrDefault(m => m.Name == name);
                Assert.True(method is null || !method.IsPublic, $"{type.Name}.{name} is public");
            }
        }
    }

    private static bool IsVisibleOutside(Type type)
    {
        if (type.IsGenericParameter)
            return true;
        if (type.HasElementType)
            return IsVisibleOutside(type.GetElementType()!);
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
            return IsVisibleOutside(type.GetGenericTypeDefinition()) && type.GetGenericArguments().All(IsVisibleOutside);
        for (Type? t = type; t is not null; t = t.DeclaringType)
        {
            if (!(t.IsPublic || t.IsNestedPublic || t.IsNestedFamily || t.IsNestedFamORAssem))
                return false;
        }

        return true;
    }
}

/// <summary>A stable text listing of an assembly's public and protected surface, one member per line.</summary>
internal static class PublicApi
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            lines.Add(TypeLine(type));
            var members = new List<string>();
            foreach (var member in Visible(type))
                members.Add("  " + MemberLine(member));
            members.Sort(StringComparer.Ordinal);
            lines.AddRange(members);
        }

        return string.Join("\n", lines) + "\n";
    }

    /// <summary>Every type named in a visible signature (base types, parameters, returns, properties, fields, events).</summary>
    public static IEnumerable<(string Member, Type Type)> SignatureTypes(Assembly assembly)
    {
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.BaseType is { } baseType)
                yield return (type.FullName!, baseType);
            foreach (var member in Visible(type))
            {
                string where = $"{type.Name}.{member.Name}";
                switch (member)
                {
                    case MethodBase method:
                        foreach (var parameter in method.GetParameters())
                            yield return (where, parameter.ParameterType);
                        if (method is MethodInfo info)
                            yield return (where, info.ReturnType);
                        break;
                    case PropertyInfo property:
                        yield return (where, property.PropertyType);
                        break;
                    case FieldInfo field:
                        yield return (where, field.FieldType);
                        break;
                    case EventInfo @event:
                        yield return (where, @event.EventHandlerType!);
                        break;
                }
            }
        }
    }

    /// <summary>The XML documentation ids ("T:", "M:", "P:", "F:", "E:") of the public and protected surface.</summary>
    public static HashSet<string> DocumentationIds(Assembly assembly)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in assembly.GetExportedTypes())
        {
            string typeName = DocName(type);
            ids.Add("T:" + typeName);
            foreach (var member in Visible(type))
            {
                string id = member switch
                {
                    ConstructorInfo c => $"M:{typeName}.#ctor{DocParameters(c)}",
                    MethodInfo m => $"M:{typeName}.{m.Name}{(m.IsGenericMethod ? "``" + m.GetGenericArguments().Length : "")}{DocParameters(m)}",
                    PropertyInfo p => $"P:{typeName}.{p.Name}{(p.GetIndexParameters().Length > 0 ? "(" + string.Join(",", p.GetIndexParameters().Select(i => DocName(i.ParameterType))) + ")" : "")}",
                    FieldInfo f => $"F:{typeName}.{f.Name}",
                    EventInfo e => $"E:{typeName}.{e.Name}",
                    _ => "",
                };
                ids.Add(id);
            }
        }

        return ids;
    }

    private static string DocParameters(MethodBase method)
    {
        var parameters = method.GetParameters();
        return parameters.Length == 0 ? "" : "(" + string.Join(",", parameters.Select(p => DocName(p.ParameterType))) + ")";
    }

    private static string DocName(Type type)
    {
        if (type.IsByRef)
            return DocName(type.GetElementType()!) + "@";
        if (type.IsArray)
            return DocName(type.GetElementType()!) + "[]";
        if (type.IsGenericParameter)
            return (type.DeclaringMethod is null ? "`" : "``") + type.GenericParameterPosition;
        string own = type.Name.Contains('`') ? type.Name[..type.Name.IndexOf('`')] : type.Name;
        string name = type.IsNested ? DocName(type.DeclaringType!) + "." + own : (type.Namespace is { } ns ? ns + "." : "") + own;
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
            return name + "{" + string.Join(",", type.GetGenericArguments().Select(DocName)) + "}";
        return type.IsGenericTypeDefinition ? name + "`" + type.GetGenericArguments().Length : name;
    }

    private static IEnumerable<MemberInfo> Visible(Type type)
    {
        bool canDerive = !type.IsSealed && !type.IsInterface && type.GetConstructors(Declared).Any(IsVisible);
        foreach (var member in type.GetMembers(Declared))
        {
            bool visible = member switch
            {
                MethodBase method => !method.IsSpecialName || method is ConstructorInfo ? IsVisible(method) && (method.IsPublic || canDerive) : false,
                PropertyInfo property => property.GetAccessors(true).Any(a => IsVisible(a) && (a.IsPublic || canDerive)),
                FieldInfo field => (field.IsPublic || ((field.IsFamily || field.IsFamilyOrAssembly) && canDerive)) && !type.IsEnum,
                EventInfo @event => @event.AddMethod is { } add && IsVisible(add) && (add.IsPublic || canDerive),
                Type nested => false, // listed as types of their own
                _ => false,
            };
            if (type.IsEnum && member is FieldInfo { IsStatic: true })
                visible = true;
            if (visible)
                yield return member;
        }
    }

    private static bool IsVisible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    private static string TypeLine(Type type)
    {
        string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct"
            : typeof(Delegate).IsAssignableFrom(type) ? "delegate" : type.IsAbstract && type.IsSealed ? "static class"
            : type.IsAbstract ? "abstract class" : type.IsSealed ? "sealed class" : "class";
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) && b != typeof(MulticastDelegate))
            bases.Add(Name(b));
        bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Select(Name).Order(StringComparer.Ordinal));
        return $"{kind} {Name(type)}" + (bases.Count > 0 ? " : " + string.Join(", ", bases) : "");
    }

    private static string MemberLine(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"{Access(c)}ctor({Parameters(c)})",
        MethodInfo m => $"{Access(m)}{(m.IsStatic ? "static " : "")}{(m.IsAbstract ? "abstract " : m.IsVirtual && !m.IsFinal && m.GetBaseDefinition() == m ? "virtual " : "")}" +
                        $"{Name(m.ReturnType)} {m.Name}{(m.IsGenericMethod ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "")}({Parameters(m)})",
        PropertyInfo p => $"{(p.GetAccessors(true).First().IsStatic ? "static " : "")}{Name(p.PropertyType)} {p.Name}" +
                          $"{(p.GetIndexParameters().Length > 0 ? "[" + string.Join(", ", p.GetIndexParameters().Select(i => Name(i.ParameterType))) + "]" : "")}" +
                          $" {{ {(p.GetMethod is { } g && IsVisible(g) ? Access(g) + "get; " : "")}{(p.SetMethod is { } s && IsVisible(s) ? Access(s) + (IsInitOnly(s) ? "init; " : "set; ") : "")}}}",
        FieldInfo f => f.DeclaringType!.IsEnum ? $"{f.Name} = {Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)}"
            : $"{Access(f)}{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => member.ToString()!,
    };

    private static bool IsInitOnly(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    private static string Access(MemberInfo member) => member switch
    {
        MethodBase m when m.IsPublic => "",
        FieldInfo f when f.IsPublic => "",
        _ => "protected ",
    };

    private static string Parameters(MethodBase method) => string.Join(", ", method.GetParameters().Select(p =>
        $"{(p.IsOut ? "out " : p.ParameterType.IsByRef ? (p.IsIn ? "in " : "ref ") : "")}{(p.GetCustomAttribute<ParamArrayAttribute>() is not null ? "params " : "")}" +
        $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + Literal(p.DefaultValue) : p.IsOptional ? " = default" : "")}"));

    private static string Literal(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    private static string Name(Type type)
    {
        if (type.IsByRef)
            return Name(type.GetElementType()!);
        if (type.IsArray)
            return Name(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        if (Nullable.GetUnderlyingType(type) is { } inner)
            return Name(inner) + "?";
        if (type.IsGenericParameter)
            return type.Name;
        string own = type.Name.Contains('`') ? type.Name[..type.Name.IndexOf('`')] : type.Name;
        string name = type.IsNested ? Name(type.DeclaringType!) + "." + own : (type.Namespace is { } ns ? ns + "." : "") + own;
        return type.IsGenericType ? name + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">" : name;
    }
}

/// <summary>
/// The XML documentation travels in the package, where the repository's files are not: what IntelliSense shows for
/// the public surface names no file of the repository (docs/, examples/, build/, a README section, ../shared).
/// </summary>
public sealed class XmlDocTests
{
    [Fact]
    public void ThePublicSurfacesDocs_PointAtNoFileOfTheRepository()
    {
        var assembly = typeof(SrModelZoo).Assembly;
        string xml = Path.ChangeExtension(assembly.Location, ".xml");
        Assert.True(File.Exists(xml), $"no XML documentation beside {assembly.Location}");
        var publicNames = PublicApi.DocumentationIds(assembly);
        var pattern = new System.Text.RegularExpressions.Regex(@"(\.\./shared|\bdocs/|\bexamples/|\bbuild/|\bbenchmarks/|\btests/|\bsrc/|README|\.md\b)");
        var found = new List<string>();
        int checkedMembers = 0;
        foreach (var member in System.Xml.Linq.XDocument.Load(xml).Descendants("member"))
        {
            string name = member.Attribute("name")!.Value;
            if (!publicNames.Contains(name))
                continue;
            checkedMembers++;
            string text = string.Concat(member.DescendantNodes().OfType<System.Xml.Linq.XText>().Select(t => t.Value));
            if (pattern.Match(text) is { Success: true } match)
                found.Add($"{name}: ...{match.Value}...");
        }

        Assert.True(checkedMembers > 300, $"only {checkedMembers} public members matched their documentation ids");
        Assert.True(found.Count == 0, "repository paths in the public XML docs:\n" + string.Join("\n", found));
    }
}
