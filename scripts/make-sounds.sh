#!/usr/bin/env bash
# Generates the demo hotline's prompts (8 kHz mono 16-bit WAV) with espeak-ng and
# sox into sounds/en, sounds/zh and sounds/moh.wav. Replace any file with a studio
# recording of the same name. Usage: scripts/make-sounds.sh [OUT_DIR]
set -euo pipefail
out=${1:-"$(dirname "$0")/../sounds"}
mkdir -p "$out/en" "$out/zh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # lang voice name text
  local lang=$1 voice=$2 name=$3 text=$4
  espeak-ng -v "$voice" -s 150 -w "$tmp/$name.raw.wav" "$text"
  sox "$tmp/$name.raw.wav" -r 8000 -c 1 -b 16 "$out/$lang/$name.wav" norm -3 silence 1 0.05 0.5% reverse silence 1 0.05 0.5% reverse
}

# The welcome is bilingual and identical in both folders.
espeak-ng -v cmn-latn-pinyin -s 140 -w "$tmp/w1.wav" "huan1 ying2 zhi4 dian4. zhong1 wen2 qing3 an4 yi1."
espeak-ng -v en-us -s 150 -w "$tmp/w2.wav" "Welcome. For English, press two."
sox "$tmp/w1.wav" "$tmp/w2.wav" -r 8000 -c 1 -b 16 "$out/zh/welcome.wav" norm -3
cp "$out/zh/welcome.wav" "$out/en/welcome.wav"

say en en-us main_menu "For order status, press one. For support, press two. For sales, press three. To tell us in your own words, press four. For an operator, press zero. To hear this again, press nine."
say en en-us ask_reason "In a few words, please tell us why you are calling."
say en en-us not_understood "Sorry, I did not understand."
say en en-us invalid "Sorry, that is not a valid choice."
say en en-us order_number "Please enter your order number, then press the pound key."
say en en-us order_received "Thank you. An agent will look into your order."
say en en-us closed "We are closed now. Please call again during business hours. Goodbye."
say zh cmn-latn-pinyin main_menu "cha2 xun2 ding4 dan1 qing3 an4 yi1. ji4 shu4 zhi1 chi2 qing3 an4 er4. xiao1 shou4 qing3 an4 san1. yu3 yin1 shuo1 ming2 qing3 an4 si4. ren2 gong1 fu2 wu4 qing3 an4 ling2. chong2 ting1 qing3 an4 jiu3."
say zh cmn-latn-pinyin ask_reason "qing3 jian3 dan1 shuo1 yi1 xia4 nin2 lai2 dian4 de yuan2 yin1."
say zh cmn-latn-pinyin not_understood "dui4 bu4 qi3, wo3 mei2 you3 ting1 dong3."
say zh cmn-latn-pinyin invalid "dui4 bu4 qi3, nin2 de xuan3 ze2 wu2 xiao4."
say zh cmn-latn-pinyin order_number "qing3 shu1 ru4 nin2 de ding4 dan1 hao4, yi3 jing3 hao4 jian4 jie2 shu4."
say zh cmn-latn-pinyin order_received "xie4 xie4. ke4 fu2 jiang1 wei4 nin2 cha2 xun2 ding4 dan1."
say zh cmn-latn-pinyin closed "xian4 zai4 shi4 fei1 gong1 zuo4 shi2 jian1, qing3 zai4 gong1 zuo4 shi2 jian1 zai4 lai2 dian4. zai4 jian4."

# Music on hold: a calm repeating chord, 8 seconds.
sox -n -r 8000 -c 1 -b 16 "$out/moh.wav" synth 2 sine 392 sine 494 sine 587 synth 2 sine 440 sine 523 sine 659 : synth 2 sine 349 sine 440 sine 523 : synth 2 sine 392 sine 494 sine 587 remix - fade 0.1 8 0.1 vol 0.3 2>/dev/null || \
  sox -n -r 8000 -c 1 -b 16 "$out/moh.wav" synth 8 sine 440 vol 0.2

echo "prompts written to $out"
