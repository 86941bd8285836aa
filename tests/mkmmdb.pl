#!/usr/bin/perl
# Write a MaxMind DB (.mmdb) for tests from a spec on standard input, one
# network per line:
#
#   CIDR [country=CC] [continent=CODE] [asn=NUMBER] [org=TEXT_WITHOUT_SPACES]
#
# usage: mkmmdb.pl OUTPUT.mmdb [--ipv4-only] < spec
# The tree is IPv6 (IPv4 networks go to ::a.b.c.d/96+n, where libmaxminddb
# looks IPv4 addresses up) unless --ipv4-only. No aliasing of ::ffff:0:0/96,
# so that IPv4-mapped lookups only work if the caller normalises them, and
# reserved networks (documentation ranges, RFC 1918) are kept.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($out, $opt) = @ARGV;
die "usage: $0 OUTPUT.mmdb [--ipv4-only] < spec\n" unless defined $out;
my $v4only = defined $opt && $opt eq '--ipv4-only';

my %types = (
    country                        => 'map',
    continent                      => 'map',
    iso_code                       => 'utf8_string',
    code                           => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => $v4only ? 4 : 6,
    record_size              => 24,
    database_type            => 'ftplimit-test',
    languages                => ['en'],
    description              => { en => 'ftplimit test database' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => 0,
);

while (my $line = <STDIN>) {
    next if $line =~ /^\s*(#|$)/;
    my ($cidr, @pairs) = split ' ', $line;
    my %record;
    for my $pair (@pairs) {
        my ($k, $v) = split /=/, $pair, 2;
        if    ($k eq 'country')   { $record{country}   = { iso_code => $v } }
        elsif ($k eq 'continent') { $record{continent} = { code     => $v } }
        elsif ($k eq 'asn')       { $record{autonomous_system_number} = $v + 0 }
        elsif ($k eq 'org')       { $record{autonomous_system_organization} = $v }
        else                      { die "unknown key '$k'\n" }
    }
    if (!$v4only && $cidr =~ m{^(\d+\.\d+\.\d+\.\d+)/(\d+)$}) {
        $cidr = "::$1/" . ($2 + 96);
    }
    $tree->insert_network($cidr, \%record);
}

open my $fh, '>:raw', "$out.tmp" or die "$out.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$out.tmp: $!\n";
rename "$out.tmp", $out or die "rename $out: $!\n";
