// Makes the internal types and members of an assembly public, so that a project can compile against
// ML.NET's internal save/load API (ModelSaveContext, ModelLoadContext, LoadableClassAttribute, ...).
// At run time the real assembly is used; the calling assembly declares
// [assembly: IgnoresAccessChecksTo("...")] so the runtime accepts the access.
// Usage: Publicize <input.dll> <output.dll>   (does nothing when output.dll was made from this input: same MVID)
using Mono.Cecil;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Publicize <input.dll> <output.dll>");
    return 2;
}

string input = args[0], output = args[1];

// Up to date when the copy was made from this very assembly: its module version id (MVID) is recorded beside the copy.
// A timestamp would not do: a restored package can be older than an earlier copy (another ML.NET version, a fresh cache).
// The rules' version is part of the stamp, so a change to the rules below also remakes the copies.
const string Rules = "rules 2: internal -> public, private protected and protected internal -> protected";
string stamp = output + ".source-mvid";
string sourceMvid;
using (var module = ModuleDefinition.ReadModule(input))
    sourceMvid = $"{module.Mvid} ({Rules})";
if (File.Exists(output) && File.Exists(stamp) && File.ReadAllText(stamp).Trim() == sourceMvid)
    return 0;

var resolver = new DefaultAssemblyResolver();
resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(input))!);
using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver }))
{
    int changed = 0;
    foreach (var type in assembly.MainModule.GetTypes())
    {
        if (IsCompilerGenerated(type))
            continue;
        var visibility = type.Attributes & TypeAttributes.VisibilityMask;
        if (visibility is TypeAttributes.NotPublic)
        {
            type.IsPublic = true;
            changed++;
        }
        else if (visibility is TypeAttributes.NestedAssembly or TypeAttributes.NestedFamANDAssem or TypeAttributes.NestedFamORAssem)
        {
            type.IsNestedPublic = true;
            changed++;
        }

        var eventNames = type.Events.Select(e => e.Name).ToHashSet();
        foreach (var method in type.Methods)
        {
            if (IsInternal(method.Attributes & MethodAttributes.MemberAccessMask) && !IsCompilerGenerated(method))
            {
                if (IsForDerivedClasses(method.Attributes & MethodAttributes.MemberAccessMask))
                    method.IsFamily = true;
                else
                    method.IsPublic = true;
                changed++;
            }
        }

        foreach (var field in type.Fields)
        {
            // Event backing fields share the event's name: publishing them makes uses ambiguous.
            var access = (MethodAttributes)(field.Attributes & FieldAttributes.FieldAccessMask);
            if (IsInternal(access) && !IsCompilerGenerated(field) && !eventNames.Contains(field.Name))
            {
                if (IsForDerivedClasses(access))
                    field.IsFamily = true;
                else
                    field.IsPublic = true;
                changed++;
            }
        }
    }

    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
    string temporary = output + ".tmp";
    assembly.Write(temporary);
    File.Move(temporary, output, overwrite: true);
    File.WriteAllText(stamp, sourceMvid);
    Console.WriteLine($"Publicize: {Path.GetFileName(input)}: {changed} types and members opened -> {output}");
}

return 0;

static bool IsCompilerGenerated(ICustomAttributeProvider member) =>
    member.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.CompilerGeneratedAttribute");

// Only what is hidden behind the assembly boundary (internal, private protected, protected internal) is opened;
// private and protected members keep their access, so derived classes override them as usual.
static bool IsInternal(MethodAttributes access) =>
    access is MethodAttributes.Assembly or MethodAttributes.FamANDAssem or MethodAttributes.FamORAssem;

// Members meant for derived classes (private protected, protected internal) become protected, not public: our
// classes then override them as protected, and they stay out of the library's public surface.
static bool IsForDerivedClasses(MethodAttributes access) =>
    access is MethodAttributes.FamANDAssem or MethodAttributes.FamORAssem;
