import streamlit as st; st.title('accuracy')
