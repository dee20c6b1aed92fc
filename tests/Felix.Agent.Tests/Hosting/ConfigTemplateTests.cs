using System.Text.RegularExpressions;
using Felix.Agent.Hosting;
using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Tests.Hosting;

public partial class ConfigTemplateTests
{
    private static readonly string Template = ConfigTemplate.Render();

    [GeneratedRegex(@"^#([A-Za-z0-9]+) =( (.*))?$")]
    private static partial Regex SettingLine();

    private static IEnumerable<Match> Settings() =>
        Template.Split('\n').Select(l => SettingLine().Match(l)).Where(m => m.Success);

    [Fact]
    public void Print_config_is_recognised_and_documented_in_help()
    {
        Assert.IsType<CommandLine.PrintConfig>(CommandLine.Parse(["--print-config"]));
        Assert.Contains("--print-config", CommandLine.HelpText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_parameter_has_exactly_one_commented_setting_line_in_table_order() =>
        Assert.Equal(ConfigParameters.All.Select(p => p.Name), Settings().Select(m => m.Groups[1].Value));

    [Fact]
    public void As_shipped_the_file_sets_nothing()
    {
        var layer = IniFile.Parse("/etc/felix/felix.cfg", Template);

        Assert.Empty(layer.Entries);
    }

    [Fact]
    public void Each_setting_line_is_preceded_by_its_description_and_what_it_accepts()
    {
        var lines = Template.Split('\n');
        foreach (var parameter in ConfigParameters.All)
        {
            var index = Array.FindIndex(lines, l => l.StartsWith($"#{parameter.Name} =", StringComparison.Ordinal));
            Assert.StartsWith($"# {parameter.Description}", lines[index - 2], StringComparison.Ordinal);
            Assert.StartsWith($"# Allowed: {parameter.Allowed}", lines[index - 1], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_default_that_is_not_a_value_is_stated_in_the_comment_and_left_empty_on_the_setting_line()
    {
        var lines = Template.Split('\n');
        var hostname = Array.IndexOf(lines, "#FelixHostname =");

        Assert.True(hostname > 0, "FelixHostname has an empty setting line");
        Assert.EndsWith($"Default: {ConfigParameters.FelixHostname.DefaultText}.", lines[hostname - 1], StringComparison.Ordinal);
        Assert.Contains("#HealthPort = 9099", lines);
    }

    [Fact]
    public void Uncommenting_every_setting_line_changes_no_value_and_raises_no_warning()
    {
        var uncommented = string.Join('\n', Template.Split('\n').Select(l => SettingLine().IsMatch(l) ? l[1..] : l));
        var layer = IniFile.Parse("/etc/felix/felix.cfg", uncommented);
        var fromTemplate = ConfigResolver.Resolve([layer]);
        var defaults = ConfigResolver.Resolve([]);

        Assert.Empty(fromTemplate.Errors);
        Assert.Empty(fromTemplate.Warnings);
        var written = Settings().Count(m => m.Groups[3].Success);
        Assert.Equal(written, layer.Entries.Count(e => e.RawValue.Length > 0));
        Assert.True(written >= ConfigParameters.All.Count - 5, $"only {written} defaults are written as values");
        foreach (var parameter in ConfigParameters.All)
        {
            Assert.Equal(defaults.Config!.ValueOf(parameter), fromTemplate.Config!.ValueOf(parameter));
        }
    }

    [Fact]
    public void The_template_carries_no_version_so_upgrades_do_not_touch_a_modified_conffile() =>
        Assert.DoesNotContain(CommandLine.Version, Template, StringComparison.Ordinal);
}
